using System.Security.Cryptography;
using HpcCampaign.Engine.Synchrotron;

namespace HpcCampaign.Tests.Synchrotron;

/// <summary>Real rsync over the real sshd on loopback (user hpcctest reads the world-readable source tree).</summary>
public class SyncTests
{
    private static SynchrotronConfig Load(SynchrotronWorld w) => SynchrotronConfig.Load(w.ConfigPath);

    [Fact]
    public async Task DryRunChangesNothingRealRunCopiesAndRecordsRerunSkips()
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir());
        w.AddEpn("12282a", files: 5, size: 3000);
        w.AddEpn("12290b", files: 2, size: 500, seed: 2);
        w.WriteConfig();
        var config = Load(w);
        var ignoreBefore = File.ReadAllText(w.IgnorePath);

        var dry = new CollectingSink();
        await new EpnSyncer(config).SyncAsync(new[] { "12282a", "12290b" }, dryRun: true, 2, dry, CancellationToken.None);
        Assert.Empty(dry.Errors);
        var would = dry.Outputs.Cast<SynchrotronSyncResult>().OrderBy(r => r.Epn).ToList();
        Assert.Equal(new[] { "WouldSync", "WouldSync" }, would.Select(r => r.Status));
        Assert.Equal(6, would[0].FilesTransferred);          // 5 files + .info, never .DS_Store
        Assert.Contains(would[0].Changes, c => c.StartsWith(">f+++++++++ file0.img", StringComparison.Ordinal));
        Assert.Contains(would[0].Changes, c => c.EndsWith(" .info", StringComparison.Ordinal));
        Assert.DoesNotContain(would[0].Changes, c => c.Contains(".DS_Store"));
        Assert.False(Directory.Exists(Path.Combine(w.DestinationRoot, "ny79")));
        Assert.Equal(ignoreBefore, File.ReadAllText(w.IgnorePath));

        var real = new CollectingSink();
        await new EpnSyncer(config).SyncAsync(new[] { "12282a", "12290b", "12282a" }, dryRun: false, 2, real, CancellationToken.None);
        Assert.Empty(real.Errors);
        var done = real.Outputs.Cast<SynchrotronSyncResult>().OrderBy(r => r.Epn).ToList();
        Assert.Equal(2, done.Count);
        var a = done[0];
        Assert.Equal(("Synced", true, true, 0), (a.Status, a.Verified, a.Recorded, a.ExitCode));
        Assert.Equal(6, a.FilesTransferred);
        Assert.Equal(6, a.FilesTotal);
        var src = Path.Combine(w.SourceRoot, "mx", "12282a");
        var expectedBytes = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".DS_Store")).Sum(f => new FileInfo(f).Length);
        Assert.Equal(expectedBytes, a.BytesTransferred);
        Assert.True(a.Seconds > 0);
        Assert.Equal(SynchrotronWorld.Listing(src), SynchrotronWorld.Listing(w.Destination("ny79", "12282a"), includeHidden: true));
        Assert.False(File.Exists(Path.Combine(w.Destination("ny79", "12282a"), ".DS_Store")));
        if (!OperatingSystem.IsWindows()) Assert.True((File.GetUnixFileMode(w.Destination("ny79", "12282a")) & UnixFileMode.SetGroup) != 0);
        Assert.Equal(File.ReadAllBytes(Path.Combine(src, "file2.img")), File.ReadAllBytes(Path.Combine(w.Destination("ny79", "12282a"), "file2.img")));
        Assert.Equal("previouslySynched:\n- 12282a\n- 12290b\n", File.ReadAllText(w.IgnorePath));
        Assert.Contains(real.ProgressRecords, p => p.Activity == "EPN 12282a" && p.Completed);

        var again = new CollectingSink();
        await new EpnSyncer(config).SyncAsync(new[] { "12282a" }, dryRun: false, 1, again, CancellationToken.None);
        var skipped = Assert.IsType<SynchrotronSyncResult>(Assert.Single(again.Outputs));
        Assert.Equal(("AlreadySynced", -1, false), (skipped.Status, skipped.ExitCode, skipped.Recorded));

        File.AppendAllText(Path.Combine(src, "file0.img"), "grown");
        var forced = new CollectingSink();
        await new EpnSyncer(config) { Force = true }.SyncAsync(new[] { "12282a" }, dryRun: false, 1, forced, CancellationToken.None);
        var f = Assert.IsType<SynchrotronSyncResult>(Assert.Single(forced.Outputs));
        Assert.Equal(("Synced", 1L, false), (f.Status, f.FilesTransferred, f.Recorded));
    }

    [Fact]
    public async Task EachBadEpnIsAClearErrorWhileTheOthersGoOn()
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir());
        w.AddEpn("12282a");
        w.AddEpn("12291a");
        w.WriteConfig(map: "  12282: ny79\n  12290: ab12\n  12291: blocked\n");
        File.WriteAllText(Path.Combine(w.DestinationRoot, "blocked"), "a file where the project folder should be");
        var sink = new CollectingSink();
        await new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a", "not-an-epn", "55555a", "12290x", "12291a" }, false, 3, sink, CancellationToken.None);
        Assert.Equal("12282a", Assert.IsType<SynchrotronSyncResult>(Assert.Single(sink.Outputs)).Epn);
        var ids = sink.Errors.ToDictionary(e => (string)e.Target!, e => e.ErrorId);
        Assert.Equal("InvalidEpn", ids["not-an-epn"]);
        Assert.Equal("EpnNotMapped", ids["55555a"]);
        Assert.Equal("SourceNotFound", ids["12290x"]);
        Assert.Equal("DestinationNotWritable", ids["12291a"]);
        Assert.Equal(5 - 1, sink.Errors.Count);
        Assert.Equal("previouslySynched:\n- 12282a\n", File.ReadAllText(w.IgnorePath));
        Assert.False(Directory.Exists(Path.Combine(w.DestinationRoot, "ab12")) && Directory.EnumerateFiles(Path.Combine(w.DestinationRoot, "ab12"), "*", SearchOption.AllDirectories).Any());
    }

    [Fact]
    public async Task WrongKeyAndUnreachableHostAreErrorsPerEpn()
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir());
        w.AddEpn("12282a");
        w.AddEpn("12290b");
        w.WriteConfig(keyFile: TestEnv.SshWrongKey);
        var sink = new CollectingSink();
        await new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a", "12290b" }, false, 2, sink, CancellationToken.None);
        Assert.Empty(sink.Outputs);
        Assert.Equal(2, sink.Errors.Count);
        Assert.All(sink.Errors, e => Assert.Equal(("SshAuthenticationFailed", HpcErrorKind.AuthenticationError), (e.ErrorId, e.Kind)));
        Assert.Equal("previouslySynched: []\n", File.ReadAllText(w.IgnorePath));

        var closedPort = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closedPort.Start();
        var port = ((System.Net.IPEndPoint)closedPort.LocalEndpoint).Port;
        closedPort.Stop();
        w.WriteConfig(sshPort: port);
        var down = new CollectingSink();
        await new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a" }, false, 1, down, CancellationToken.None);
        Assert.Equal(("HostUnreachable", HpcErrorKind.ConnectionError), (Assert.Single(down.Errors).ErrorId, down.Errors[0].Kind));

        w.WriteConfig(keyFile: Path.Combine(w.Root, "no-such-key"));
        var ex = await Assert.ThrowsAsync<HpcException>(() => new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a" }, false, 1, new CollectingSink(), CancellationToken.None));
        Assert.Equal("KeyFileNotFound", ex.ErrorId);
    }

    /// <summary>Cancels the run once the EPN's transfer has moved more than <paramref name="bytes"/> bytes (mid big file).</summary>
    private sealed class CancelOnProgressSink(CancellationTokenSource cts, long bytes) : IHpcSink
    {
        public readonly CollectingSink Inner = new();
        public void Output(object item) => Inner.Output(item);
        public void Error(HpcException error) => Inner.Error(error);
        public void Verbose(string message) => Inner.Verbose(message);
        public void Warning(string message) => Inner.Warning(message);
        public void Progress(HpcProgress progress)
        {
            Inner.Progress(progress);
            var m = System.Text.RegularExpressions.Regex.Match(progress.Status, @"\(([\d,]+) bytes\)");
            if (progress.Activity.StartsWith("EPN ", StringComparison.Ordinal) && m.Success && long.Parse(m.Groups[1].Value.Replace(",", "")) > bytes) cts.Cancel();
        }
    }

    [Fact]
    public async Task AnInterruptedRunResumesFromThePartialFile()
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir());
        var src = w.AddEpn("12282a", files: 2, size: 1000);
        var big = new byte[24 * 1024 * 1024];
        new Random(7).NextBytes(big);
        File.WriteAllBytes(Path.Combine(src, "frames", "big.h5"), big);
        SynchrotronWorld.MakeWorldReadable(w.Root);
        w.WriteConfig(extra: "rsync-bwlimit: 4000\n");   // 4 MB/s: the transfer takes seconds, so the cancel lands mid-file

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var sink = new CancelOnProgressSink(cts, 2_000_000);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a" }, false, 1, sink, cts.Token));
        var dest = w.Destination("ny79", "12282a");
        var partial = Path.Combine(dest, "frames", Rsync.PartialDir, "big.h5");
        Assert.True(File.Exists(partial), "rsync kept the partial file in the partial dir");
        var partialLength = new FileInfo(partial).Length;
        Assert.InRange(partialLength, 1, big.Length - 1);
        Assert.False(File.Exists(Path.Combine(dest, "frames", "big.h5")));
        Assert.Equal("previouslySynched: []\n", File.ReadAllText(w.IgnorePath));

        w.WriteConfig();
        var resumed = new CollectingSink();
        await new EpnSyncer(Load(w)).SyncAsync(new[] { "12282a" }, false, 1, resumed, CancellationToken.None);
        Assert.Empty(resumed.Errors);
        var r = Assert.IsType<SynchrotronSyncResult>(Assert.Single(resumed.Outputs));
        Assert.Equal(("Synced", true, true), (r.Status, r.Verified, r.Recorded));
        Assert.Equal(SHA256.HashData(big), SHA256.HashData(File.ReadAllBytes(Path.Combine(dest, "frames", "big.h5"))));
        Assert.False(File.Exists(partial));
        Assert.Equal("previouslySynched:\n- 12282a\n", File.ReadAllText(w.IgnorePath));
    }

    [Fact]
    public async Task AnEpnAlreadyInFlightIsNotStartedTwice()
    {
        var w = new SynchrotronWorld(TestEnv.NewTempDir());
        var src = w.AddEpn("12282a", files: 1);
        var big = new byte[6 * 1024 * 1024];
        new Random(3).NextBytes(big);
        File.WriteAllBytes(Path.Combine(src, "slow.bin"), big);
        SynchrotronWorld.MakeWorldReadable(w.Root);
        w.WriteConfig(extra: "rsync-bwlimit: 3000\n");
        var config = Load(w);
        using var started = new SemaphoreSlim(0);
        var first = new CollectingSink();
        var firstRun = new EpnSyncer(config).SyncAsync(new[] { "12282a" }, false, 1, new SignalOnProgressSink(first, started), CancellationToken.None);
        Assert.True(await started.WaitAsync(TimeSpan.FromSeconds(30)));
        var second = new CollectingSink();
        await new EpnSyncer(config).SyncAsync(new[] { "12282a" }, false, 1, second, CancellationToken.None);
        Assert.Equal("EpnInFlight", Assert.Single(second.Errors).ErrorId);
        await firstRun;
        Assert.Equal("Synced", Assert.IsType<SynchrotronSyncResult>(Assert.Single(first.Outputs)).Status);
    }

    private sealed class SignalOnProgressSink(CollectingSink inner, SemaphoreSlim signal) : IHpcSink
    {
        private int _signalled;
        public void Output(object item) => inner.Output(item);
        public void Error(HpcException error) => inner.Error(error);
        public void Verbose(string message) => inner.Verbose(message);
        public void Warning(string message) => inner.Warning(message);
        public void Progress(HpcProgress progress)
        {
            inner.Progress(progress);
            if (progress.Activity.StartsWith("EPN ", StringComparison.Ordinal) && Interlocked.Exchange(ref _signalled, 1) == 0) signal.Release();
        }
    }
}
