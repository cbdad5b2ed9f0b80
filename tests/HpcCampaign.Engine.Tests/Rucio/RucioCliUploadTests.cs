using System.Text.Json.Nodes;
using HpcCampaign.Engine.Rucio;

namespace HpcCampaign.Tests.Rucio;

/// <summary>The -RucioCommand transport against Data/rucio-standin.sh, a stand-in for the real `rucio` CLI.</summary>
public class RucioCliUploadTests
{
    public static string StandIn => Path.Combine(AppContext.BaseDirectory, "Rucio", "Data", "rucio-standin.sh");

    [Fact]
    public async Task EachBatchRunsInItsOwnDirectoryAndTheSummariesMergeIntoOneDocument()
    {
        var dir = TestEnv.NewTempDir();
        var data = Path.Combine(dir, "data with space");
        Directory.CreateDirectory(data);
        var items = new List<RucioUploadItem>();
        foreach (var name in new[] { "a.fits", "b'quote.fits", "c.fits", "d.fits", "e-fail.fits", "f.fits", "g.fits" })
        {
            File.WriteAllText(Path.Combine(data, name), "content of " + name);
            items.Add(new RucioUploadItem(Path.Combine(data, name), name));
        }
        var colon = Path.Combine(data, "h:i.fits");
        File.WriteAllText(colon, "x");
        items.Add(new RucioUploadItem(colon, "h:i.fits"));
        var log = Path.Combine(dir, "calls.jsonl");
        var options = new RucioUploadOptions
        {
            Scope = "user.survey", Rse = "ECHO", BatchSize = 3, ThrottleLimit = 2, Attempts = 2, Lifetime = 600,
            SummaryPath = Path.Combine(dir, "summary.json"), RucioCommand = new[] { "bash", StandIn },
            Backoff = _ => TimeSpan.FromMilliseconds(10), CommandEnvironment = new Dictionary<string, string> { ["RUCIO_STANDIN_LOG"] = log },
        };
        var sink = new CollectingSink();
        var records = await new RucioCliUploader(options, sink).RunAsync(items, CancellationToken.None);

        Assert.Equal(8, records.Count);
        Assert.Equal(6, records.Count(r => r.State == RucioUploadState.Uploaded));
        Assert.Equal("RucioUploadFailed", records.Single(r => r.Name == "e-fail.fits").ErrorId);
        Assert.Equal(2, records.Single(r => r.Name == "e-fail.fits").Attempts);
        Assert.Equal("PathContainsColon", records.Single(r => r.Name == "h:i.fits").ErrorId);
        Assert.Equal(new[] { "PathContainsColon", "RucioUploadFailed" }, sink.Errors.Select(e => e.ErrorId).OrderBy(x => x));
        var quote = records.Single(r => r.Name == "b'quote.fits");
        Assert.Equal(WebDavStorageStandIn.Adler32Hex(File.ReadAllBytes(quote.Path)), quote.Adler32);

        var calls = File.ReadAllLines(log).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(4, calls.Count); // 3 batches + the retry of the failed file
        Assert.Equal(calls.Count, calls.Select(c => (string)c["cwd"]!).Distinct().Count()); // never a shared summary
        var argv = calls[0]["argv"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal(new[] { "upload", "--scope", "user.survey", "--rse", "ECHO", "--lifetime", "600", "--summary" }, argv.Take(8));
        Assert.Contains(calls, c => c["argv"]!.AsArray().Any(a => (string)a! == Path.Combine(data, "b'quote.fits")));

        var summary = Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(options.SummaryPath)));
        Assert.Equal(6, summary.Count);
        Assert.Equal(summary.Select(kv => kv.Key).OrderBy(k => k, StringComparer.Ordinal), summary.Select(kv => kv.Key));
        Assert.Equal("ECHO", (string?)summary["user.survey:a.fits"]!["rse"]);
        var failures = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.failures.json")))!.AsArray();
        Assert.Equal(2, failures.Count);
        // successful batch directories are cleaned up; the failed one keeps its log
        var left = Directory.GetDirectories(Path.Combine(dir, ".rucio-batches"));
        Assert.All(left, d => Assert.True(File.Exists(Path.Combine(d, "rucio.log"))));
        Assert.Equal(2, left.Length);

        // a re-run skips what the summary already has (same size and adler32) and calls rucio only for the rest
        var again = await new RucioCliUploader(options, new CollectingSink()).RunAsync(items.Take(7).ToList(), CancellationToken.None);
        Assert.Equal(6, again.Count(r => r.State == RucioUploadState.Skipped));
        Assert.Equal(6, File.ReadAllLines(log).Length); // one batch with the failing file, tried twice
        Assert.Equal(6, Assert.IsType<JsonObject>(JsonNode.Parse(File.ReadAllText(options.SummaryPath))).Count);
    }

    [Fact]
    public async Task AMissingRucioCommandIsAClearError()
    {
        var dir = TestEnv.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "a.fits"), "a");
        var options = new RucioUploadOptions
        {
            Scope = "s", Rse = "R", RucioCommand = new[] { Path.Combine(dir, "no-such-rucio") }, SummaryPath = Path.Combine(dir, "s.json"),
        };
        var ex = await Assert.ThrowsAsync<HpcException>(() => new RucioCliUploader(options, new CollectingSink())
            .RunAsync(new[] { new RucioUploadItem(Path.Combine(dir, "a.fits"), "a.fits") }, CancellationToken.None));
        Assert.Equal("RucioCommandNotFound", ex.ErrorId);
    }

    [Fact]
    public void AnExistingSummaryThatIsNotOneJsonObjectIsNeverOverwritten()
    {
        var dir = TestEnv.NewTempDir();
        var path = Path.Combine(dir, "summary.json");
        File.WriteAllText(path, "{\"a:b\": {}}{\"c:d\": {}}"); // the DAC tool's concatenated objects
        var ex = Assert.Throws<HpcException>(() => RucioSummary.Open(path));
        Assert.Equal("InvalidSummaryFile", ex.ErrorId);
        Assert.Equal("{\"a:b\": {}}{\"c:d\": {}}", File.ReadAllText(path));
    }
}
