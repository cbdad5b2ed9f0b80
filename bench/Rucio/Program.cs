using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using HpcCampaign;
using HpcCampaign.Engine.Rucio;
using HpcCampaign.Tests;

// Send-RucioBatch (native transport: Rucio REST stand-in + the real S3 server) against a bare AWSSDK PutObject of
// the same files to the same server, in the same run. Usage:
//   Rucio.Bench --s3 http://127.0.0.1:PORT --data DIR --out results.md [--small 1940] [--large 60] [--repeat 2]
var opts = new Dictionary<string, string>();
for (var i = 0; i + 1 < args.Length; i += 2) opts[args[i].TrimStart('-')] = args[i + 1];
var s3Url = opts["s3"];
var dataDir = Path.GetFullPath(opts["data"]);
var outPath = Path.GetFullPath(opts["out"]);
var small = int.Parse(opts.GetValueOrDefault("small", "1940"));
var large = int.Parse(opts.GetValueOrDefault("large", "60"));
var repeat = int.Parse(opts.GetValueOrDefault("repeat", "2"));
const string Scope = "user.bench";

// ---- data: log-uniform sizes, small files 4 KiB..1 MiB, large 1..50 MiB, fixed seed ------------------------------
var files = new List<string>();
var sizes = new Random(20261124);   // sizes and contents from separate generators: sizes never depend on what exists
var contents = new Random(7);
long LogUniform(long lo, long hi) => (long)(lo * Math.Pow((double)hi / lo, sizes.NextDouble()));
Directory.CreateDirectory(dataDir);
var buffer = new byte[1 << 20];
for (var i = 0; i < small + large; i++)
{
    var size = i < small ? LogUniform(4 << 10, 1 << 20) : LogUniform(1 << 20, 50L << 20);
    var path = Path.Combine(dataDir, $"d{i % 20:D2}", $"obs{i:D5}.fits");
    files.Add(path);
    if (File.Exists(path) && new FileInfo(path).Length == size) continue;
    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
    using var fs = File.Create(path);
    for (var left = size; left > 0;)
    {
        contents.NextBytes(buffer);
        var n = (int)Math.Min(left, buffer.Length);
        fs.Write(buffer, 0, n);
        left -= n;
    }
}
var totalBytes = files.Sum(f => new FileInfo(f).Length);
Console.WriteLine($"{files.Count} files, {totalBytes / 1048576.0:F0} MiB");

AmazonS3Client S3() => new(new BasicAWSCredentials("bench", "bench"),
    new AmazonS3Config { ServiceURL = s3Url, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

async Task EmptyBucket(string bucket)
{
    using var s3 = S3();
    string? token = null;
    do
    {
        var list = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, ContinuationToken = token });
        if (list.S3Objects is { Count: > 0 })
            await s3.DeleteObjectsAsync(new DeleteObjectsRequest { BucketName = bucket, Objects = list.S3Objects.Select(o => new KeyVersion { Key = o.Key }).ToList() });
        token = list.IsTruncated == true ? list.NextContinuationToken : null;
    } while (token is not null);
    await s3.DeleteBucketAsync(bucket);
}

async Task<double> Raw(int parallel)
{
    var bucket = "raw-" + Guid.NewGuid().ToString("N")[..12];
    using var s3 = S3();
    await s3.PutBucketAsync(bucket);
    var sw = Stopwatch.StartNew();
    // the SDK's own uploader, with the same 8 MiB single-PUT limit and part size (the S3 server takes at most 11 MiB per request)
    using var transfer = new TransferUtility(s3, new TransferUtilityConfig { MinSizeBeforePartUpload = S3Storage.PartSize });
    await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (f, ct) =>
    {
        await transfer.UploadAsync(new TransferUtilityUploadRequest
        {
            BucketName = bucket, Key = "rucio/" + Lfn2Pfn.Hash(Scope, Path.GetFileName(f)), FilePath = f, PartSize = S3Storage.PartSize,
        }, ct);
    });
    var seconds = sw.Elapsed.TotalSeconds;
    await EmptyBucket(bucket);
    return seconds;
}

async Task<double> Ours(int throttle, bool registerAfterUpload, bool skipStat = false)
{
    var bucket = "rse-" + Guid.NewGuid().ToString("N")[..12];
    using (var s3 = S3()) await s3.PutBucketAsync(bucket);
    using var server = new RucioServerStandIn();
    var port = new Uri(s3Url).Port;
    server.AddRse("BENCH-S3", new JsonArray(RucioServerStandIn.Protocol("s3", "127.0.0.1", port, $"/{bucket}/rucio/", "rucio.rse.protocols.gfal.NoRename",
        extended: new JsonObject { ["secure"] = false })), new JsonObject { ["lfn2pfn_algorithm"] = "hash", ["skip_upload_stat"] = skipStat });
    var work = Path.Combine(Path.GetTempPath(), "rucio-bench-" + Guid.NewGuid().ToString("N")[..8]);
    Directory.CreateDirectory(work);
    var cfg = RucioConfig.Parse($"""
        [client]
        rucio_host = {server.Url}
        auth_host = {server.Url}
        auth_type = userpass
        username = {server.Username}
        password = {server.Password}
        account = {server.Account}
        auth_token_file_path = {Path.Combine(work, "token")}
        [storage]
        s3_access_key = bench
        s3_secret_key = bench
        """);
    var options = new RucioUploadOptions
    {
        Scope = Scope, Rse = "BENCH-S3", BatchSize = 50, ThrottleLimit = throttle, SummaryPath = Path.Combine(work, "summary.json"),
        RegisterAfterUpload = registerAfterUpload,
    };
    var sink = new CollectingSink();
    var items = files.Select(f => new RucioUploadItem(f, Path.GetFileName(f))).ToList();
    var sw = Stopwatch.StartNew();
    var records = await new RucioUploader(cfg, options, sink).RunAsync(items, CancellationToken.None);
    var seconds = sw.Elapsed.TotalSeconds;
    var uploaded = records.Count(r => r.State == RucioUploadState.Uploaded);
    if (uploaded != files.Count || sink.Errors.Count > 0)
        throw new InvalidOperationException($"only {uploaded}/{files.Count} uploaded: {string.Join("; ", sink.Errors.Take(3).Select(e => e.Message))}");
    var summary = JsonNode.Parse(File.ReadAllText(options.SummaryPath))!.AsObject();
    if (summary.Count != files.Count) throw new InvalidOperationException("summary has " + summary.Count);
    Directory.Delete(work, true);
    await EmptyBucket(bucket);
    return seconds;
}

// ---- runs, interleaved so that machine noise hits all variants alike ----------------------------------------------
var variants = new (string Name, string Baseline, Func<Task<double>> Run)[]
{
    ("bare AWSSDK TransferUtility, 1 file at a time", "", () => Raw(1)),
    ("Send-RucioBatch -ThrottleLimit 1", "bare AWSSDK TransferUtility, 1 file at a time", () => Ours(1, false)),
    ("bare AWSSDK TransferUtility, 8 files at a time", "", () => Raw(8)),
    ("Send-RucioBatch -ThrottleLimit 8", "bare AWSSDK TransferUtility, 8 files at a time", () => Ours(8, false)),
    ("Send-RucioBatch -ThrottleLimit 8 -RegisterAfterUpload", "bare AWSSDK TransferUtility, 8 files at a time", () => Ours(8, true)),
};
async Task<double> StorageOnly(bool hashing)
{
    var bucket = "st-" + Guid.NewGuid().ToString("N")[..12];
    using (var s3c = S3()) await s3c.PutBucketAsync(bucket);
    var protocol = new RseProtocol("s3", "127.0.0.1", new Uri(s3Url).Port, $"/{bucket}/rucio/", "x", 1, 1, new JsonObject { ["secure"] = false });
    using var storage = new S3Storage(protocol, new StorageCredentials("bench", "bench", null, null, null));
    var sw = Stopwatch.StartNew();
    foreach (var f in files)
    {
        await using var file = HashingReadStream.OpenFile(f);
        await storage.PutAsync(new HashingReadStream(file, hashing), protocol.Pfn(Lfn2Pfn.Hash(Scope, Path.GetFileName(f))), CancellationToken.None);
    }
    var seconds = sw.Elapsed.TotalSeconds;
    await EmptyBucket(bucket);
    return seconds;
}

if (opts.ContainsKey("diag"))
    variants = variants.Append(("S3Storage.PutAsync only, hashing", "bare AWSSDK TransferUtility, 1 file at a time", () => StorageOnly(true)))
        .Append(("S3Storage.PutAsync only, no hashing", "bare AWSSDK TransferUtility, 1 file at a time", () => StorageOnly(false))).ToArray();
if (opts.ContainsKey("diag"))
    variants = variants.Append(("Send-RucioBatch -ThrottleLimit 1, RSE skip_upload_stat", "bare AWSSDK TransferUtility, 1 file at a time", () => Ours(1, false, true))).ToArray();
if (opts.GetValueOrDefault("diag") == "3")
{
    var all = new byte[256 << 20];
    new Random(1).NextBytes(all);
    var sw1 = Stopwatch.StartNew();
    var ad = new Adler32(); ad.Append(all);
    Console.WriteLine($"adler32 256 MiB: {sw1.Elapsed.TotalSeconds:F2} s");
    sw1.Restart();
    System.Security.Cryptography.MD5.HashData(all);
    Console.WriteLine($"md5 256 MiB: {sw1.Elapsed.TotalSeconds:F2} s");
    sw1.Restart();
    long total = 0;
    foreach (var f in files) { await using var fs = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous); int n; while ((n = await fs.ReadAsync(all.AsMemory(0, 1 << 20))) > 0) total += n; }
    Console.WriteLine($"async read all files: {sw1.Elapsed.TotalSeconds:F2} s");
    sw1.Restart();
    foreach (var f in files) { using var fs = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan); int n; while ((n = fs.Read(all, 0, 1 << 20)) > 0) total += n; }
    Console.WriteLine($"sync read all files: {sw1.Elapsed.TotalSeconds:F2} s");
    return;
}
if (opts.GetValueOrDefault("diag") == "2")
{
    var sw0 = Stopwatch.StartNew();
    foreach (var f in files) await FileChecksums.ComputeAsync(f, CancellationToken.None);
    Console.WriteLine($"checksums of all files: {sw0.Elapsed.TotalSeconds:F2} s");
    var bucket = "hd-" + Guid.NewGuid().ToString("N")[..12];
    using var s3d = S3();
    await s3d.PutBucketAsync(bucket);
    foreach (var f in files.Take(100)) await s3d.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = Path.GetFileName(f), ContentBody = "x" });
    sw0.Restart();
    foreach (var f in files.Take(100)) await s3d.GetObjectMetadataAsync(bucket, Path.GetFileName(f));
    Console.WriteLine($"100 HEADs: {sw0.Elapsed.TotalSeconds:F2} s");
    sw0.Restart();
    foreach (var f in files.Take(100)) await s3d.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = Path.GetFileName(f), ContentBody = "x" });
    Console.WriteLine($"100 tiny PUTs: {sw0.Elapsed.TotalSeconds:F2} s");
    using var server = new RucioServerStandIn();
    server.AddRse("X", new JsonArray());
    var cfg = RucioConfig.Parse($"[client]\nrucio_host = {server.Url}\nusername = {server.Username}\npassword = {server.Password}\naccount = {server.Account}\nauth_token_file_path = /tmp/bench-token-{Guid.NewGuid():N}\n");
    using var client = new RucioRestClient(cfg);
    await client.WhoAmIAsync(CancellationToken.None);
    sw0.Restart();
    for (var i = 0; i < 100; i++) await client.ListReplicasAsync(new[] { ("s", "n" + i) }, CancellationToken.None);
    Console.WriteLine($"100 REST calls to the stand-in: {sw0.Elapsed.TotalSeconds:F2} s");
    return;
}
var times = variants.ToDictionary(v => v.Name, _ => new List<double>());
await Raw(8); // warm-up (JIT, connections, page cache)
for (var r = 0; r < repeat; r++)
    foreach (var v in variants)
    {
        var t = await v.Run();
        times[v.Name].Add(t);
        Console.WriteLine($"round {r + 1}: {v.Name}: {t:F2} s, {totalBytes / 1048576.0 / t:F1} MiB/s");
    }

double Best(string name) => times[name].Min();
var md = new StringBuilder();
var inv = CultureInfo.InvariantCulture;
md.AppendLine("# Rucio batch upload benchmark");
md.AppendLine();
md.AppendLine(inv, $"Date: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Machine: {Environment.ProcessorCount} cores ({Cpu()}), {Mem()}, {Environment.OSVersion}, .NET {Environment.Version}.");
md.AppendLine(inv, $"Data: {files.Count} files, {totalBytes / 1048576.0:F0} MiB in all: {small} files log-uniform 4 KiB–1 MiB and {large} files log-uniform 1–50 MiB (seeded).");
md.AppendLine("Storage: the fauxqs S3 server of tests/services on 127.0.0.1 (same process for every variant; a fresh bucket per run, emptied afterwards).");
md.AppendLine("Send-RucioBatch = the native transport (`RucioUploader`, what the cmdlet runs) with -BatchSize 50 against the Rucio REST stand-in");
md.AppendLine("(RucioServerStandIn, in process): auth, whoami, RSE, per batch /replicas/list, register (C), rule, per file a PUT (8 MiB parts above 8 MiB) verified by the server's ETag, state A, summary file.");
md.AppendLine(inv, $"Each variant ran {repeat} time(s), interleaved, after one warm-up run; the table shows the best time (all times in the last column).");
md.AppendLine();
md.AppendLine("| variant | best s | MiB/s | files/s | ratio to bare AWSSDK at same parallelism | all runs (s) |");
md.AppendLine("|---|---:|---:|---:|---:|---|");
foreach (var v in variants)
{
    var t = Best(v.Name);
    var ratio = v.Baseline.Length == 0 ? "1.00 (baseline)" : (Best(v.Baseline) / t).ToString("F2", inv);
    md.AppendLine(inv, $"| {v.Name} | {t:F2} | {totalBytes / 1048576.0 / t:F1} | {files.Count / t:F0} | {ratio} | {string.Join(", ", times[v.Name].Select(x => x.ToString("F2", inv)))} |");
}
md.AppendLine();
md.AppendLine("Ratio = bare AWSSDK time / Send-RucioBatch time (1.0 = as fast as the bare upload; the goal is >= 0.8).");
File.WriteAllText(outPath + ".table", md.ToString());
Console.WriteLine(md.ToString());

static string Cpu()
{
    try { return File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name")).Split(':', 2)[1].Trim(); } catch (Exception) { return "unknown CPU"; }
}

static string Mem()
{
    try { return (long.Parse(File.ReadLines("/proc/meminfo").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1048576) + " GiB RAM"; } catch (Exception) { return "RAM unknown"; }
}
