using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// Store and index parameters shared by the topic-archive cmdlets. Default (embedded): a folder under the state
/// directory with index.sqlite in it. -Bucket selects S3; -PostgresConnectionString selects PostgreSQL.
/// </summary>
public abstract class TopicArchiveCmdlet : HpcCmdlet
{
    /// <summary>Local folder that holds the BSON objects (default: ~/.cache/hpc-campaign/topic-archive).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StorePath { get; set; }

    /// <summary>S3 bucket for the objects (instead of a folder).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Bucket { get; set; }

    /// <summary>S3-compatible endpoint URL (path-style addressing); without it AWS in -Region.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? S3Endpoint { get; set; }

    /// <summary>S3 access key (user name) and secret key (password).</summary>
    [Parameter]
    [Credential]
    public PSCredential? S3Credential { get; set; }

    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Region { get; set; } = "us-west-2";

    /// <summary>SQLite index file (default: index.sqlite in the store folder).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? IndexPath { get; set; }

    /// <summary>PostgreSQL index instead of SQLite (Npgsql connection string, without the password).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PostgresConnectionString { get; set; }

    [Parameter]
    [Credential]
    public PSCredential? PostgresCredential { get; set; }

    /// <summary>Resolves the paths through PowerShell; null (after an error record) when a path is not usable.</summary>
    protected ArchiveConnection? BuildConnection()
    {
        string? store = null, index = null;
        if (StorePath is not null && (store = ResolveOutputPath(StorePath)) is null) return null;
        if (IndexPath is not null && (index = ResolveOutputPath(IndexPath)) is null) return null;
        if (StorePath is not null && Bucket is not null)
        {
            WriteHpcError(new HpcException("ConflictingStore", HpcErrorKind.InvalidArgument, "Use either -StorePath or -Bucket, not both.", Bucket));
            return null;
        }
        if (IndexPath is not null && PostgresConnectionString is not null)
        {
            WriteHpcError(new HpcException("ConflictingIndex", HpcErrorKind.InvalidArgument, "Use either -IndexPath or -PostgresConnectionString, not both.", IndexPath));
            return null;
        }
        return new ArchiveConnection
        {
            StorePath = store,
            Bucket = Bucket,
            S3Endpoint = S3Endpoint,
            S3AccessKey = S3Credential?.UserName,
            S3SecretKey = S3Credential?.GetNetworkCredential().Password,
            Region = Region,
            IndexPath = index,
            PostgresConnectionString = PostgresConnectionString,
            PostgresUser = PostgresCredential?.UserName,
            PostgresPassword = PostgresCredential?.GetNetworkCredential().Password,
        };
    }

    protected string DescribeStore(ArchiveConnection c) => c.Bucket is not null ? $"s3://{c.Bucket}" : c.StorePath ?? ArchiveConnection.DefaultStorePath;

    /// <summary>Opens store + index, runs the work, closes both.</summary>
    protected static async Task WithArchive(ArchiveConnection c, Func<IArchiveStore, ArchiveIndex, Task> work)
    {
        using var store = c.OpenStore();
        using var index = c.OpenIndex();
        await work(store, index).ConfigureAwait(false);
    }
}

/// <summary>Adds the Kafka connection: bootstrap, then -Credential, the hop auth file, or -NoAuthentication.</summary>
public abstract class TopicArchiveKafkaCmdlet : TopicArchiveCmdlet
{
    /// <summary>Broker address: host[:port] or kafka://[user@]host[:port] (port 9092 by default).</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string BootstrapServer { get; set; } = "";

    /// <summary>SASL/SCRAM-SHA-512 over TLS with this user name and password (instead of the hop auth file).</summary>
    [Parameter]
    [Credential]
    public PSCredential? Credential { get; set; }

    /// <summary>hop's auth.toml (default ${XDG_CONFIG_HOME:-~/.config}/hop/auth.toml); must be mode 0600.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? HopAuthPath { get; set; }

    /// <summary>Plain-text connection without SASL (a local or test broker).</summary>
    [Parameter]
    public SwitchParameter NoAuthentication { get; set; }

    protected KafkaSettings? BuildKafka()
    {
        try
        {
            if (Credential is not null)
                return new KafkaSettings(BootstrapServer, new HopCredential(Credential.UserName, Credential.GetNetworkCredential().Password, "SASL_SSL", "SCRAM-SHA-512", null, null, null));
            if (NoAuthentication) return new KafkaSettings(BootstrapServer, null);
            var path = HopAuthPath is null ? HopAuth.DefaultPath : ResolveOutputPath(HopAuthPath);
            if (path is null) return null;
            var cred = HopAuth.Select(HopAuth.Load(path), BootstrapServer);
            WriteVerbose($"Using the hop credential of '{cred.Username}' from {path}.");
            return new KafkaSettings(BootstrapServer, cred);
        }
        catch (HpcException ex)
        {
            WriteHpcError(ex.ErrorId == "HopAuthNotFound"
                ? new HpcException(ex.ErrorId, ex.Kind, ex.Message, ex.Target) { RecommendedAction = "Pass -Credential, create the hop auth file (hop auth add), or use -NoAuthentication for a local broker." }
                : ex);
            return null;
        }
    }

    protected static DateTime? Utc(DateTime? t) => t is null ? null : t.Value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t.Value, DateTimeKind.Utc) : t.Value.ToUniversalTime();
    protected static long? Ms(DateTime? t) => Utc(t) is { } u ? new DateTimeOffset(u).ToUnixTimeMilliseconds() : null;
}
