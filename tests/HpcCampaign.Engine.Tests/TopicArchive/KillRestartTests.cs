using System.Diagnostics;
using System.Text;
using HpcCampaign.Engine.TopicArchive;
using static HpcCampaign.Tests.TopicArchive.ArchiveTestKit;

namespace HpcCampaign.Tests.TopicArchive;

/// <summary>
/// Durability: the archiver runs in a child hpcc process that is killed (SIGKILL) at random points while messages are
/// still arriving, then restarted; in the end every produced message is archived exactly once.
/// </summary>
public class KillRestartTests
{
    private static string HpccDll()
    {
        var bin = Path.Combine(TestEnv.RepoRoot, "src", "HpcCampaign.Host", "bin");
        var found = Directory.Exists(bin) ? Directory.GetFiles(bin, "hpcc.dll", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault() : null;
        return found ?? throw new InvalidOperationException("hpcc.dll is not built: run dotnet build at the repository root first.");
    }

    private static Process StartArchiver(string topic, string dir, bool untilEnd)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(HpccDll());
        psi.ArgumentList.Add("-Command");
        psi.ArgumentList.Add($"Start-TopicArchive {topic} -BootstrapServer {TestEnv.KafkaBootstrap} -NoAuthentication -GroupName killtest " +
                             $"-BatchSize 2 -ThrottleLimit 2 -StorePath '{dir}/store' -IndexPath '{dir}/index.sqlite'" + (untilEnd ? " -UntilEndOfStream" : ""));
        psi.Environment["HPCCAMPAIGN_CONFIG_PATH"] = Path.Combine(dir, "config");
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Rows indexed so far, read through a read-only connection so the poll never blocks the child's writes.</summary>
    private static long Indexed(string dir)
    {
        var path = Path.Combine(dir, "index.sqlite");
        if (!File.Exists(path)) return 0;
        try
        {
            using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM messages";
            return Convert.ToInt64(cmd.ExecuteScalar());
        }
        catch (Microsoft.Data.Sqlite.SqliteException) { return 0; }   // not created yet, or busy: poll again
    }

    [Fact]
    public async Task KilledAtRandomPointsAndRestartedLosesNothingAndStoresNothingTwice()
    {
        var dir = TestEnv.NewTempDir("killrestart");
        var topic = NewName("ta.kill");
        var rnd = new Random();
        var produced = new List<TopicMessage>();
        List<TopicMessage> ProducePhase(int phase, int count) => Produce(topic, Enumerable.Range(0, count).Select(i =>
            ((byte[]?)null, Encoding.UTF8.GetBytes($"phase {phase} message {i} " + new string('.', rnd.Next(0, 400))),
             i % 5 == 0 ? new List<KeyValuePair<string, byte[]?>>() : WithId(), (int?)null)));

        produced.AddRange(ProducePhase(0, 1500));
        var partialKills = 0;
        var log = new List<string>();
        for (var round = 1; round <= 3; round++)
        {
            var before = Indexed(dir);
            var p = StartArchiver(topic, dir, untilEnd: false);
            try
            {
                // kill it when it has archived a random part of what is waiting
                var target = before + rnd.Next(1, Math.Max(2, (int)(produced.Count - before) / 2));
                var deadline = DateTime.UtcNow.AddSeconds(45);
                while (Indexed(dir) < target && DateTime.UtcNow < deadline && !p.HasExited) await Task.Delay(10);
            }
            finally
            {
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                p.WaitForExit(10_000);
            }
            var after = Indexed(dir);
            log.Add($"round {round}: {before} -> {after} of {produced.Count}");
            if (after > before && after < produced.Count) partialKills++;
            produced.AddRange(ProducePhase(round, 300));   // the stream keeps flowing while the archiver is down
        }
        Assert.True(partialKills >= 2, $"only {partialKills} kill(s) landed mid-stream: " + string.Join("; ", log));

        var final = StartArchiver(topic, dir, untilEnd: true);
        Assert.True(final.WaitForExit(120_000), "the final archiver run did not reach the end of the stream");
        Assert.Equal(0, final.ExitCode);

        using var index = ArchiveIndex.OpenSqlite(Path.Combine(dir, "index.sqlite"));
        using var store = new FolderStore(Path.Combine(dir, "store"));
        var rows = index.Query(new RecordQuery(Topic: topic));
        Assert.Equal(produced.Count, rows.Count);
        var byUuid = rows.ToDictionary(r => r.Uuid);
        foreach (var m in produced)
        {
            var a = MessageAnnotations.Compute(m);
            Assert.True(byUuid.TryGetValue(a.Uuid, out var row), $"message {m.Partition}/{m.Offset} is missing");
            Assert.Equal((m.Partition, m.Offset), (row!.Partition, row.Offset));
        }
        var issues = new CollectingSink();
        await new ArchiveOperations(store, index).VerifyAsync(topic, true, true, true, null, 4, issues, default);
        Assert.Empty(issues.Outputs);   // no missing, corrupt or orphaned object either
    }
}
