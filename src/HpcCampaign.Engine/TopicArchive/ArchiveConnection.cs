using HpcCampaign.Engine.Config;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>
/// Which store and index to use. Defaults (embedded): a folder under the state directory and a SQLite file in it.
/// A bucket selects S3; a PostgreSQL connection string selects PostgreSQL.
/// </summary>
public sealed class ArchiveConnection
{
    public string? StorePath { get; init; }
    public string? Bucket { get; init; }
    public string? S3Endpoint { get; init; }
    public string? S3AccessKey { get; init; }
    public string? S3SecretKey { get; init; }
    public string Region { get; init; } = "us-west-2";
    public string? IndexPath { get; init; }
    public string? PostgresConnectionString { get; init; }
    public string? PostgresUser { get; init; }
    public string? PostgresPassword { get; init; }

    public static string DefaultStorePath => Path.Combine(ConfigPaths.StateDirectory, "topic-archive");

    public string EffectiveIndexPath => IndexPath ?? Path.Combine(Bucket is null ? StorePath ?? DefaultStorePath : DefaultStorePath, "index.sqlite");

    public IArchiveStore OpenStore() => Bucket is not null
        ? new S3Store(Bucket, S3Endpoint, S3AccessKey, S3SecretKey, Region)
        : new FolderStore(StorePath ?? DefaultStorePath);

    public ArchiveIndex OpenIndex() => PostgresConnectionString is not null
        ? ArchiveIndex.OpenPostgres(PostgresConnectionString, PostgresUser, PostgresPassword)
        : ArchiveIndex.OpenSqlite(EffectiveIndexPath);
}
