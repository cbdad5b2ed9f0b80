using System.Diagnostics;

namespace HpcCampaign.Tests.HotDirectory;

/// <summary>
/// Durability: the hot directory runs in a child hpcc process that is killed (SIGKILL) at random moments, with new
/// files arriving between and during the runs. After a last clean run every file must be at the destination exactly
/// under its final name with the right content, nothing partial under a final name and nothing extra.
/// </summary>
public sealed class HotDirectoryKillTests
{
    private static Process StartChild(string configPath)
    {
        var dll = Path.Combine(TestEnv.RepoRoot, "src", "HpcCampaign.Host", "bin", "Debug", "net10.0", "hpcc.dll");
        Assert.True(File.Exists(dll), "build hpcc first: " + dll);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("-Command");
        psi.ArgumentList.Add($"Start-HotDirectory -ConfigPath '{configPath}'");
        psi.Environment["HPCCAMPAIGN_CONFIG_PATH"] = TestSetup.ConfigDir;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    [Fact]
    public void Killed_at_random_points_every_file_arrives_once_complete_and_nothing_else()
    {
        using var fx = new HotDirectoryFixture("kill");
        var rng = new Random(Environment.TickCount);
        var expected = new List<string>();
        void Add(int count, int round)
        {
            for (var i = 0; i < count; i++)
            {
                var rel = $"r{round}/f{i:000}.bin";
                // a few large files so that kills land in the middle of uploads
                fx.Write(rel, i % 7 == 0 ? 3_000_000 + rng.Next(1000) : 1000 + rng.Next(50_000), rng.Next());
                expected.Add(rel);
            }
        }
        Add(30, 0);
        for (var round = 1; round <= 5; round++)
        {
            var before = expected.Count(r => File.Exists(fx.Remote(r)));
            using var child = StartChild(fx.ConfigPath);
            Add(6, round);   // written while it starts or runs
            // kill once this run is demonstrably moving files (bounded wait), at a random moment after that
            HotDirectoryFixture.WaitUntil(() => expected.Count(r => File.Exists(fx.Remote(r))) > before, 60);
            Thread.Sleep(rng.Next(0, 800));
            child.Kill(entireProcessTree: true);
            Assert.True(child.WaitForExit(20_000), "child did not die");
            Add(4, 100 + round);   // written while nothing runs
        }

        // the killed runs did real work (so the kills landed while files were moving, not only during start-up)
        var deliveredBeforeFinal = expected.Count(r => File.Exists(fx.Remote(r)));
        Assert.True(deliveredBeforeFinal > 0, "no file was delivered by the killed runs");

        using (var final = StartChild(fx.ConfigPath))
        {
            var done = HotDirectoryFixture.WaitUntil(() => expected.All(r => File.Exists(fx.Remote(r)) &&
                new FileInfo(fx.Remote(r)).Length == new FileInfo(Path.Combine(fx.Watch, r)).Length), 90);
            using var ps = new PsSession();
            var stop = ps.Run("Stop-HotDirectory -ConfigPath $c", new Dictionary<string, object?> { ["c"] = fx.ConfigPath });
            stop.AssertNoErrors();
            Assert.True(final.WaitForExit(30_000), "the last run did not stop");
            Assert.True(done, $"missing after restarts: {string.Join(", ", expected.Where(r => !File.Exists(fx.Remote(r))).Take(10))}");
        }

        foreach (var rel in expected) Assert.True(fx.Delivered(rel), $"{rel} differs at the destination");
        var finalNames = Directory.GetFiles(fx.RemoteRoot, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(fx.RemoteRoot, f).Replace('\\', '/'))
            .Where(n => !Path.GetFileName(n).StartsWith('.'))
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        Assert.Equal(expected.OrderBy(n => n, StringComparer.Ordinal).ToList(), finalNames);
        // leftovers of killed uploads may only be hidden temp names, never a final name
        Assert.All(Directory.GetFiles(fx.RemoteRoot, ".*", SearchOption.AllDirectories), f => Assert.EndsWith(".hpcc-tmp", f));

        using var check = new PsSession();
        var status = check.Run("Get-HotDirectoryStatus -ConfigPath $c", new Dictionary<string, object?> { ["c"] = fx.ConfigPath });
        status.AssertNoErrors();
        var sender = status.Output.Single(o => (string)o.Properties["Component"].Value == "sender");
        Assert.Equal(0L, sender.Properties["QueueDepth"].Value);
        Assert.Equal(0L, sender.Properties["DeadLetters"].Value);
        Assert.Equal("stop", sender.Properties["State"].Value);
    }
}
