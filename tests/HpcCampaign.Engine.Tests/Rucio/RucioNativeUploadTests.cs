using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using HpcCampaign.Engine.Rucio;

namespace HpcCampaign.Tests.Rucio;

/// <summary>
/// The native transport against the RucioServerStandIn (a Rucio server cannot run here) with REAL storage: the S3
/// server, the sshd, the local file system, and a WebDAV stand-in for the bad-checksum cases.
/// </summary>
public class RucioNativeUploadTests
{
    private static JsonObject ReadSummary(string path) => Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(path)));

    private static void AssertSummaryEntry(JsonObject summary, RucioUploadRecord r)
    {
        var e = Assert.IsType<JsonObject>(summary[r.Did]);
        Assert.Equal(new[] { "adler32", "bytes", "guid", "md5", "name", "pfn", "rse", "scope" }, e.Select(kv => kv.Key));
        Assert.Equal(r.Bytes, e["bytes"]!.GetValue<long>());
        Assert.Equal(r.Adler32, (string?)e["adler32"]);
        Assert.Equal(r.Md5, (string?)e["md5"]);
        Assert.Equal(r.Pfn, (string?)e["pfn"]);
        Assert.Matches("^[0-9a-f]{32}$", (string?)e["guid"]);
    }

    [Fact]
    public async Task BatchesUploadInParallelToS3AndRegisterEveryFileAvailable()
    {
        using var kit = new RucioTestKit(nameof(BatchesUploadInParallelToS3AndRegisterEveryFileAvailable));
        await kit.AddS3RseAsync();
        kit.Server.HoldListsUntilConcurrent = 3;
        var items = kit.MakeFiles(22);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("S3-DISK", batchSize: 4, throttle: 3), sink).RunAsync(items, CancellationToken.None);

        Assert.Empty(sink.Errors);
        Assert.Equal(22, records.Count);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        Assert.Equal(3, kit.Server.MaxConcurrentLists); // three batches were in flight at once
        // one bulk registration, rule and state update per batch (6 batches of <= 4)
        Assert.Equal(6, kit.Server.CountCalls("POST", "/replicas/list"));
        Assert.Equal(6, kit.Server.CountCalls("POST", "/rules"));
        Assert.Equal(6, kit.Server.CountCalls("PUT", "/replicas"));
        Assert.All(kit.Server.Rules, rule => Assert.Null(rule["lifetime"])); // no expiry by default
        Assert.Equal(6, sink.ProgressRecords.Count(p => !p.Completed));
        Assert.Contains(sink.ProgressRecords, p => p.Completed);
        var calls = kit.Server.Calls.ToList();
        Assert.All(calls.Where(c => c.Path != "/auth/userpass"), c =>
        {
            Assert.True(c.Headers.ContainsKey("X-Rucio-Auth-Token"));
            Assert.Equal("survey", c.Headers["X-Rucio-Account"]);
        });

        using var s3 = RucioTestKit.S3();
        foreach (var r in records)
        {
            Assert.Equal("A", (string?)kit.Server.Did(r.Scope, r.Name)!["replicas"]!["S3-DISK"]);
            Assert.Equal(r.Adler32, (string?)kit.Server.Did(r.Scope, r.Name)!["adler32"]);
            var key = "rucio/" + Lfn2Pfn.Hash(r.Scope, r.Name);
            Assert.Equal($"s3://127.0.0.1:{new Uri(TestEnv.S3Url).Port}/{kit.Bucket}/{key}", r.Pfn);
            using var obj = await s3.GetObjectAsync(kit.Bucket, key);
            using var ms = new MemoryStream();
            await obj.ResponseStream.CopyToAsync(ms);
            Assert.Equal(File.ReadAllBytes(r.Path), ms.ToArray());
            Assert.Equal(Convert.ToHexString(MD5.HashData(ms.ToArray())).ToLowerInvariant(), r.Md5);
        }
        var summary = ReadSummary(Path.Combine(kit.Dir, "summary.json"));
        Assert.Equal(22, summary.Count);
        foreach (var r in records) AssertSummaryEntry(summary, r);
        Assert.False(File.Exists(Path.Combine(kit.Dir, "summary.failures.json")));
    }

    [Fact]
    public async Task AsManyBatchesAsWorkersAllRunAtOnce()
    {
        using var kit = new RucioTestKit(nameof(AsManyBatchesAsWorkersAllRunAtOnce));
        var root = TestEnv.NewTempDir();
        kit.Server.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, root, "rucio.rse.protocols.posix.Default")));
        kit.Server.HoldListsUntilConcurrent = 3;
        var records = await new RucioUploader(kit.Config, kit.Options("POSIX", batchSize: 3, throttle: 3), new CollectingSink()).RunAsync(kit.MakeFiles(9), CancellationToken.None);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        Assert.Equal(3, kit.Server.MaxConcurrentLists); // no worker read ahead a batch another worker could have run
        Assert.Equal(new[] { 1, 2, 3 }, records.Select(r => r.Batch).Distinct().OrderBy(b => b));
    }

    [Fact]
    public async Task RegisterAfterUploadReadsEachFileOnceAndRegistersItAvailable()
    {
        using var kit = new RucioTestKit(nameof(RegisterAfterUploadReadsEachFileOnceAndRegistersItAvailable));
        await kit.AddS3RseAsync();
        var items = kit.MakeFiles(6, size: 3_000_000);
        var o = kit.Options("S3-DISK", batchSize: 3, throttle: 2);
        var options = new RucioUploadOptions
        {
            Scope = o.Scope, Rse = o.Rse, BatchSize = 3, ThrottleLimit = 2, SummaryPath = o.SummaryPath, Backoff = o.Backoff, RegisterAfterUpload = true,
        };
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, options, sink).RunAsync(items, CancellationToken.None);
        Assert.Empty(sink.Errors);
        foreach (var r in records)
        {
            Assert.Equal(RucioUploadState.Uploaded, r.State);
            var data = File.ReadAllBytes(r.Path);
            Assert.Equal(WebDavStorageStandIn.Adler32Hex(data), r.Adler32);
            Assert.Equal(Convert.ToHexString(MD5.HashData(data)).ToLowerInvariant(), r.Md5);
            Assert.Equal("A", (string?)kit.Server.Did(r.Scope, r.Name)!["replicas"]!["S3-DISK"]);
        }
        // registered once, directly as available: no COPYING state, no state flip
        var registrations = kit.Server.Calls.Where(c => c.Method == "POST" && c.Path == "/replicas/").ToList();
        Assert.Equal(2, registrations.Count);
        Assert.All(registrations, c => Assert.All(JsonNode.Parse(c.Body)!["files"]!.AsArray(), f => Assert.Equal("A", (string?)f!["state"])));
        Assert.Equal(0, kit.Server.CountCalls("PUT", "/replicas"));
        Assert.Equal(6, ReadSummary(Path.Combine(kit.Dir, "summary.json")).Count);
        // the re-run compares checksums before sending anything
        var again = await new RucioUploader(kit.Config, options, new CollectingSink()).RunAsync(items, CancellationToken.None);
        Assert.All(again, r => Assert.Equal(RucioUploadState.Skipped, r.State));
        Assert.Equal(2, kit.Server.Calls.Count(c => c.Method == "POST" && c.Path == "/replicas/"));
    }

    [Fact]
    public async Task LargeFilesGoToS3InPartsAndAreVerifiedByTheMultipartETag()
    {
        using var kit = new RucioTestKit(nameof(LargeFilesGoToS3InPartsAndAreVerifiedByTheMultipartETag));
        await kit.AddS3RseAsync();
        var path = Path.Combine(kit.Dir, "big.fits");
        var data = new byte[2 * S3Storage.PartSize + 5];
        new Random(3).NextBytes(data);
        File.WriteAllBytes(path, data);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("S3-DISK"), sink).RunAsync(new[] { new RucioUploadItem(path, "big.fits") }, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal(RucioUploadState.Uploaded, Assert.Single(records).State);
        Assert.DoesNotContain(sink.VerboseMessages, m => m.Contains("verified the size only"));
        using var s3 = RucioTestKit.S3();
        var key = "rucio/" + Lfn2Pfn.Hash(RucioTestKit.Scope, "big.fits");
        var meta = await s3.GetObjectMetadataAsync(kit.Bucket, key);
        Assert.EndsWith("-3\"", meta.ETag);
        using var obj = await s3.GetObjectAsync(kit.Bucket, key);
        using var ms = new MemoryStream();
        await obj.ResponseStream.CopyToAsync(ms);
        Assert.Equal(data, ms.ToArray());
    }

    [Fact]
    public async Task ReRunSkipsRegisteredFilesAndUploadsOnlyTheNewOnes()
    {
        using var kit = new RucioTestKit(nameof(ReRunSkipsRegisteredFilesAndUploadsOnlyTheNewOnes));
        using var dav = new WebDavStorageStandIn();
        kit.Server.AddRse("DAV", new JsonArray(RucioServerStandIn.Protocol("http", "127.0.0.1", dav.Port, "/rucio/", "rucio.rse.protocols.webdav.Default")));
        var items = kit.MakeFiles(6);
        var first = await new RucioUploader(kit.Config, kit.Options("DAV"), new CollectingSink()).RunAsync(items.Take(4).ToList(), CancellationToken.None);
        Assert.All(first, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        Assert.Equal(4, dav.PutCount);

        // a crash between registration (C) and upload: the replica is COPYING; the re-run must upload it again
        kit.Server.Did(RucioTestKit.Scope, items[3].Name)!["replicas"]!["DAV"] = "C";
        var sink = new CollectingSink();
        var second = await new RucioUploader(kit.Config, kit.Options("DAV"), sink).RunAsync(items, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal(new[] { RucioUploadState.Skipped, RucioUploadState.Skipped, RucioUploadState.Skipped, RucioUploadState.Uploaded, RucioUploadState.Uploaded, RucioUploadState.Uploaded },
            second.OrderBy(r => r.Name).Select(r => r.State));
        Assert.Equal(7, dav.PutCount); // items 3 (again), 4, 5
        var skipped = second.First(r => r.Name == items[0].Name);
        Assert.Equal(first.First(r => r.Name == items[0].Name).Guid, skipped.Guid);
        Assert.Equal(0, skipped.Attempts);
        var summary = ReadSummary(Path.Combine(kit.Dir, "summary.json"));
        Assert.Equal(6, summary.Count);
        foreach (var r in second) AssertSummaryEntry(summary, r);

        // a DID that exists with another content is refused, not overwritten
        File.WriteAllText(items[1].Path, "changed content");
        var third = await new RucioUploader(kit.Config, kit.Options("DAV"), sink).RunAsync(new[] { items[1] }, CancellationToken.None);
        Assert.Equal(RucioUploadState.Failed, third[0].State);
        Assert.Equal("RucioDataIdentifierAlreadyExists", third[0].ErrorId);
        Assert.Equal(7, dav.PutCount);
        Assert.Equal(6, ReadSummary(Path.Combine(kit.Dir, "summary.json")).Count); // the earlier good entry stays
        var failures = JsonNode.Parse(File.ReadAllText(Path.Combine(kit.Dir, "summary.failures.json")))!.AsArray();
        Assert.Equal("RucioDataIdentifierAlreadyExists", (string?)Assert.Single(failures)!["errorId"]);
    }

    [Fact]
    public async Task StorageReportingAnotherChecksumOrSizeFailsOnlyThatFile()
    {
        using var kit = new RucioTestKit(nameof(StorageReportingAnotherChecksumOrSizeFailsOnlyThatFile));
        using var dav = new WebDavStorageStandIn();
        kit.Server.AddRse("DAV", new JsonArray(RucioServerStandIn.Protocol("davs", "127.0.0.1", dav.Port, "/rucio/", "rucio.rse.protocols.webdav.Default")));
        // davs maps to https; this stand-in speaks plain http, so declare the protocol as http
        kit.Server.Rses["DAV"].Settings["protocols"]![0]!["scheme"] = "http";
        var items = kit.MakeFiles(5);
        dav.CorruptNames.Add(items[1].Name);
        dav.TruncateNames.Add(items[3].Name);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("DAV", batchSize: 5), sink).RunAsync(items, CancellationToken.None);

        var bad = records.Single(r => r.Name == items[1].Name);
        Assert.Equal(RucioUploadState.Failed, bad.State);
        Assert.Equal("ChecksumMismatch", bad.ErrorId);
        Assert.Equal(3, bad.Attempts); // retried with back-off
        var shorter = records.Single(r => r.Name == items[3].Name);
        Assert.Equal("SizeMismatch", shorter.ErrorId);
        Assert.Equal(3, records.Count(r => r.State == RucioUploadState.Uploaded));
        Assert.Equal(new[] { "ChecksumMismatch", "SizeMismatch" }, sink.Errors.Select(e => e.ErrorId).OrderBy(x => x));
        Assert.Equal(HpcErrorKind.InvalidData, sink.Errors[0].Kind);
        // the failed files stay COPYING (never AVAILABLE) and are not in the summary
        Assert.Equal("C", (string?)kit.Server.Did(RucioTestKit.Scope, items[1].Name)!["replicas"]!["DAV"]);
        Assert.Equal("A", (string?)kit.Server.Did(RucioTestKit.Scope, items[0].Name)!["replicas"]!["DAV"]);
        var summary = ReadSummary(Path.Combine(kit.Dir, "summary.json"));
        Assert.Equal(3, summary.Count);
        Assert.Null(summary[bad.Did]);
        var failures = JsonNode.Parse(File.ReadAllText(Path.Combine(kit.Dir, "summary.failures.json")))!.AsArray();
        Assert.Equal(2, failures.Count);
    }

    [Fact]
    public async Task WrongPasswordIsAClearAuthenticationErrorAndNothingIsSent()
    {
        using var kit = new RucioTestKit(nameof(WrongPasswordIsAClearAuthenticationErrorAndNothingIsSent), password: "wrong");
        await kit.AddS3RseAsync();
        var items = kit.MakeFiles(3);
        var ex = await Assert.ThrowsAsync<HpcException>(() => new RucioUploader(kit.Config, kit.Options("S3-DISK"), new CollectingSink()).RunAsync(items, CancellationToken.None));
        Assert.Equal("RucioAuthenticationFailed", ex.ErrorId);
        Assert.Equal(HpcErrorKind.AuthenticationError, ex.Kind);
        Assert.Contains("survey", ex.Message);
        Assert.DoesNotContain("wrong", ex.Message);
        Assert.Equal(1, kit.Server.CountCalls("GET", "/auth/userpass"));
        Assert.Equal(0, kit.Server.CountCalls("POST", "/replicas"));
        Assert.False(File.Exists(Path.Combine(kit.Dir, "summary.json")));
    }

    [Fact]
    public async Task ExpiredTokenIsRenewedAndTransient503sAreRetried()
    {
        using var kit = new RucioTestKit(nameof(ExpiredTokenIsRenewedAndTransient503sAreRetried));
        var root = TestEnv.NewTempDir();
        kit.Server.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, root, "rucio.rse.protocols.posix.Default")));
        var items = kit.MakeFiles(4);
        await new RucioUploader(kit.Config, kit.Options("POSIX"), new CollectingSink()).RunAsync(items.Take(2).ToList(), CancellationToken.None);
        Assert.True(File.Exists(Path.Combine(kit.Dir, "token"))); // the token cache of rucio.cfg auth_token_file_path
        kit.Server.ExpireTokens();
        kit.Server.ServiceUnavailableCount = 2;
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("POSIX"), sink).RunAsync(items, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.Equal(2, records.Count(r => r.State == RucioUploadState.Uploaded));
        Assert.Equal(2, records.Count(r => r.State == RucioUploadState.Skipped));
        Assert.Equal(2, kit.Server.CountCalls("GET", "/auth/userpass")); // once per run: the cached token was tried, refused, renewed
        foreach (var r in records)
            Assert.Equal(File.ReadAllBytes(r.Path), File.ReadAllBytes(Path.Combine(root, Lfn2Pfn.Hash(r.Scope, r.Name))));
        Assert.Empty(Directory.GetFiles(root, "*.rucio.upload", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task ARejectedRegistrationFailsOneFileAndTheBatchGoesOn()
    {
        using var kit = new RucioTestKit(nameof(ARejectedRegistrationFailsOneFileAndTheBatchGoesOn));
        var root = TestEnv.NewTempDir();
        kit.Server.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, root, "rucio.rse.protocols.posix.Default")));
        var items = kit.MakeFiles(5);
        items.Add(new RucioUploadItem(Path.Combine(kit.Dir, "missing.fits"), "missing.fits"));
        kit.Server.RejectReplicaNames.Add(items[2].Name);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("POSIX", batchSize: 10), sink).RunAsync(items, CancellationToken.None);
        Assert.Equal(4, records.Count(r => r.State == RucioUploadState.Uploaded));
        Assert.Equal("ReplicaRegistrationFailed", records.Single(r => r.Name == items[2].Name).ErrorId);
        Assert.Equal("FileReadFailed", records.Single(r => r.Name == "missing.fits").ErrorId);
        Assert.Equal(2, sink.Errors.Count);
        Assert.False(File.Exists(Path.Combine(root, Lfn2Pfn.Hash(RucioTestKit.Scope, items[2].Name))));
    }

    [Fact]
    public async Task DatasetIsCreatedWithTheLifetimeRuleAndFilesAreAttached()
    {
        using var kit = new RucioTestKit(nameof(DatasetIsCreatedWithTheLifetimeRuleAndFilesAreAttached));
        var root = TestEnv.NewTempDir();
        kit.Server.AddRse("POSIX", new JsonArray(RucioServerStandIn.Protocol("file", "localhost", 0, root, "rucio.rse.protocols.posix.Default")),
            new JsonObject { ["lfn2pfn_algorithm"] = "identity" });
        var items = kit.MakeFiles(5);
        var options = kit.Options("POSIX", batchSize: 2);
        options = new RucioUploadOptions
        {
            Scope = options.Scope, Rse = options.Rse, BatchSize = 2, ThrottleLimit = 2, SummaryPath = options.SummaryPath,
            Backoff = options.Backoff, Dataset = "user.survey:night-42", Lifetime = 86400,
        };
        var records = await new RucioUploader(kit.Config, options, new CollectingSink()).RunAsync(items, CancellationToken.None);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        var rule = Assert.Single(kit.Server.Rules); // the dataset's rule only, no rule per file
        Assert.Equal(86400, rule["lifetime"]!.GetValue<long>());
        Assert.Equal(items.Select(i => "user.survey:" + i.Name).OrderBy(x => x), kit.Server.Attachments["user.survey:night-42"].OrderBy(x => x));
        Assert.True(File.Exists(Path.Combine(root, "user", "survey", items[1].Name))); // identity algorithm
    }

    [Fact]
    public async Task PresignedS3UploadsThroughTheServersSignedUrls()
    {
        using var kit = new RucioTestKit(nameof(PresignedS3UploadsThroughTheServersSignedUrls));
        var port = await kit.AddS3RseAsync("S3-SIGNED", new JsonObject { ["lfn2pfn_algorithm"] = "hash", ["sign_url"] = "s3" }, scheme: "http");
        using var signer = RucioTestKit.S3();
        kit.Server.Signer = (op, url) =>
        {
            var path = new Uri(url).AbsolutePath.TrimStart('/');
            var slash = path.IndexOf('/');
            return signer.GetPreSignedURL(new GetPreSignedUrlRequest
            {
                BucketName = path[..slash], Key = Uri.UnescapeDataString(path[(slash + 1)..]), Verb = op == "write" ? HttpVerb.PUT : HttpVerb.GET,
                Expires = DateTime.UtcNow.AddHours(1), Protocol = Protocol.HTTP,
            });
        };
        var items = kit.MakeFiles(3);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("S3-SIGNED"), sink).RunAsync(items, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        Assert.True(kit.Server.CountCalls("GET", "/credentials/signurl") >= 6); // write + read per file
        using var s3 = RucioTestKit.S3();
        var meta = await s3.GetObjectMetadataAsync(kit.Bucket, "rucio/" + Lfn2Pfn.Hash(RucioTestKit.Scope, items[2].Name));
        Assert.Equal(new FileInfo(items[2].Path).Length, meta.ContentLength);
        Assert.StartsWith($"http://127.0.0.1:{port}/", records[0].Pfn);
    }

    [Fact]
    public async Task SftpStorageOnTheRealSshdVerifiesTheHostKey()
    {
        using var kit = new RucioTestKit(nameof(SftpStorageOnTheRealSshdVerifiesTheHostKey));
        var prefix = $"{TestEnv.SshHome}/rucio-{Guid.NewGuid():N}";
        kit.Server.AddRse("SSH", new JsonArray(RucioServerStandIn.Protocol("scp", TestEnv.SshHost, TestEnv.SshPort, prefix, "rucio.rse.protocols.ssh.Default")));
        var items = kit.MakeFiles(5, size: 300_000);
        var sink = new CollectingSink();
        var records = await new RucioUploader(kit.Config, kit.Options("SSH", batchSize: 3, throttle: 2), sink).RunAsync(items, CancellationToken.None);
        Assert.Empty(sink.Errors);
        Assert.All(records, r => Assert.Equal(RucioUploadState.Uploaded, r.State));
        using (var sftp = new Renci.SshNet.SftpClient(TestEnv.SshHost, TestEnv.SshPort, TestEnv.SshUser, new Renci.SshNet.PrivateKeyFile(TestEnv.SshKey)))
        {
            sftp.Connect();
            foreach (var r in records)
            {
                using var ms = new MemoryStream();
                sftp.DownloadFile($"{prefix}/{Lfn2Pfn.Hash(r.Scope, r.Name)}", ms);
                Assert.Equal(File.ReadAllBytes(r.Path), ms.ToArray());
            }
        }

        // a known_hosts with another key for the host: every file fails with HostKeyMismatch, nothing is sent
        kit.WriteConfig(kit.Server.Password);
        File.WriteAllText(kit.ConfigPath, File.ReadAllText(kit.ConfigPath).Replace(TestEnv.SshKnownHosts, TestEnv.SshKnownHostsMismatch));
        var more = kit.MakeFiles(2, prefix: "g");
        var sink2 = new CollectingSink();
        var refused = await new RucioUploader(kit.Config, kit.Options("SSH"), sink2).RunAsync(more, CancellationToken.None);
        Assert.All(refused, r => Assert.Equal("HostKeyMismatch", r.ErrorId));
        Assert.Equal(2, sink2.Errors.Count);
    }
}
