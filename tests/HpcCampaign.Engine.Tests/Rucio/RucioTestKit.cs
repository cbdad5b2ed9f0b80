using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HpcCampaign.Engine.Rucio;

namespace HpcCampaign.Tests.Rucio;

/// <summary>A Rucio server stand-in, a rucio.cfg pointing at it, and local files to upload.</summary>
internal sealed class RucioTestKit : IDisposable
{
    public const string Scope = "user.survey";
    public RucioServerStandIn Server { get; } = new();
    public string Dir { get; }
    public string ConfigPath { get; }
    public string Bucket { get; } = "rucio-" + Guid.NewGuid().ToString("N")[..10];

    public RucioTestKit(string testName, string? password = null)
    {
        Dir = TestEnv.NewTempDir(testName);
        ConfigPath = Path.Combine(Dir, "rucio.cfg");
        WriteConfig(password ?? Server.Password);
    }

    public void WriteConfig(string password, string extra = "") => File.WriteAllText(ConfigPath, $"""
        [common]
        loglevel = INFO
        [client]
        rucio_host = {Server.Url}
        auth_host = {Server.Url}
        auth_type = userpass
        username = {Server.Username}
        password = {password}
        account = {Server.Account}
        request_retries = 3
        protocol_stat_retries = 2
        auth_token_file_path = {Path.Combine(Dir, "token")}
        [policy]
        lfn2pfn_algorithm_default = hash
        [storage]
        s3_access_key = test
        s3_secret_key = test
        ssh_user = {Environment.GetEnvironmentVariable("HPCC_TEST_SSH_USER")}
        ssh_private_key = {Environment.GetEnvironmentVariable("HPCC_TEST_SSH_KEY")}
        ssh_known_hosts = {Environment.GetEnvironmentVariable("HPCC_TEST_SSH_KNOWN_HOSTS")}
        {extra}
        """);

    public RucioConfig Config => RucioConfig.Load(ConfigPath);

    /// <summary>count files of mixed sizes (a few bytes to size) under Dir/data, in subfolders.</summary>
    public List<RucioUploadItem> MakeFiles(int count, int size = 20_000, string prefix = "f")
    {
        var items = new List<RucioUploadItem>();
        var rnd = new Random(count * 7919 + size);
        for (var i = 0; i < count; i++)
        {
            var sub = Path.Combine(Dir, "data", "d" + (i % 3));
            Directory.CreateDirectory(sub);
            var path = Path.Combine(sub, $"{prefix}{i:D3}.fits");
            var data = new byte[i == 0 ? 0 : rnd.Next(1, size)];
            rnd.NextBytes(data);
            File.WriteAllBytes(path, data);
            items.Add(new RucioUploadItem(path, Path.GetFileName(path)));
        }
        return items;
    }

    public static AmazonS3Client S3() => new(new BasicAWSCredentials("test", "test"),
        new AmazonS3Config { ServiceURL = TestEnv.S3Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    public async Task<int> AddS3RseAsync(string rse = "S3-DISK", JsonObject? attributes = null, string scheme = "s3")
    {
        using var s3 = S3();
        await s3.PutBucketAsync(Bucket);
        var port = new Uri(TestEnv.S3Url).Port;
        Server.AddRse(rse, new JsonArray(RucioServerStandIn.Protocol(scheme, "127.0.0.1", port, $"/{Bucket}/rucio/", "rucio.rse.protocols.gfal.NoRename",
            extended: new JsonObject { ["secure"] = false })), attributes);
        return port;
    }

    public RucioUploadOptions Options(string rse, int batchSize = 4, int throttle = 3, string? summary = "summary.json") => new()
    {
        Scope = Scope,
        Rse = rse,
        BatchSize = batchSize,
        ThrottleLimit = throttle,
        SummaryPath = summary is null ? null : Path.Combine(Dir, summary),
        Backoff = _ => TimeSpan.FromMilliseconds(20),
    };

    public void Dispose() => Server.Dispose();
}
