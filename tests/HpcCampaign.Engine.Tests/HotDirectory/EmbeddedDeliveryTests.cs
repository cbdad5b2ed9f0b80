#pragma warning disable CA1416 // these tests run on Linux (the test sshd is local)
using System.Security.Cryptography;
using HpcCampaign.Engine.HotDirectory;

namespace HpcCampaign.Engine.Tests.HotDirectory;

/// <summary>Embedded-queue mode end to end against the real sshd: delivery, verification, restart, deletes, refusals.</summary>
public sealed class EmbeddedDeliveryTests
{
    [Fact]
    public async Task Delivers_complete_files_with_mode_and_mtime_and_skips_temp_and_dot_files()
    {
        await using var rig = new HotDirectoryRig("e2e");
        var old = new DateTime(2024, 3, 5, 6, 7, 8, DateTimeKind.Utc);
        rig.Write("a.txt", 1000, 1, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, old);
        rig.Start();
        rig.Write("sub/deeper/b.bin", 300_000, 2);
        rig.Write("run 1/c d.dat", 0, 3);
        File.WriteAllText(Path.Combine(rig.Watch, "partial.tmp"), "in progress");
        File.WriteAllText(Path.Combine(rig.Watch, ".hidden"), "dot file");
        Directory.CreateDirectory(Path.Combine(rig.Watch, ".cache"));
        File.WriteAllText(Path.Combine(rig.Watch, ".cache", "x.bin"), "dot folder");

        Assert.True(await rig.WaitDeliveredAsync(new[] { "a.txt", "sub/deeper/b.bin", "run 1/c d.dat" }), "files were not delivered");
        var a = rig.Remote("a.txt");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(a));
        Assert.Equal(old, File.GetLastWriteTimeUtc(a));
        await Task.Delay(1500);   // give the excluded files every chance to (wrongly) arrive
        Assert.False(File.Exists(rig.Remote("partial.tmp")));
        Assert.False(File.Exists(rig.Remote(".hidden")));
        Assert.False(Directory.Exists(rig.Remote(".cache")));
        Assert.Empty(rig.RemoteTempFiles());
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => new HotDirectoryStore(rig.State).Counts() == (0, 0, 0, 0)));
        await rig.StopAsync();
        Assert.Empty(rig.Sink.Errors);
    }

    [Fact]
    public async Task Restart_posts_files_created_while_stopped_and_resends_nothing()
    {
        await using var rig = new HotDirectoryRig("restart");
        rig.Write("first.bin", 5000, 1);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "first.bin" }));
        await rig.StopAsync();
        var firstRemote = new FileInfo(rig.Remote("first.bin"));
        var inode = Inode(firstRemote.FullName);

        rig.Write("while-stopped.bin", 7000, 2);
        rig.Write("first.bin", 6000, 3);   // replaced while stopped: must be sent again
        rig.Write("nested/new.bin", 100, 4);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "first.bin", "while-stopped.bin", "nested/new.bin" }));
        Assert.NotEqual(inode, Inode(rig.Remote("first.bin")));
        var stillOld = Inode(rig.Remote("while-stopped.bin"));
        await rig.StopAsync();

        rig.Start();   // nothing changed: nothing is sent again
        await Task.Delay(2500);
        await rig.StopAsync();
        Assert.Equal(stillOld, Inode(rig.Remote("while-stopped.bin")));
        var status = HotDirectoryStatusReader.Read("restart", rig.State);
        Assert.Equal(0, status.Single(s => s.Component == "sender").TotalFiles);
        Assert.Equal("stop", status[0].State);
        Assert.Empty(rig.Sink.Errors);
    }

    private static long Inode(string path)
    {
        // the remote side is on this machine: a re-sent file is a new inode (temp + rename)
        var psi = new System.Diagnostics.ProcessStartInfo("stat", $"-c %i \"{path}\"") { RedirectStandardOutput = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return long.Parse(text.Trim());
    }

    [Fact]
    public async Task Deletes_are_forwarded_only_when_enabled()
    {
        await using var on = new HotDirectoryRig("deletes-on", s => s.ForwardDeletes = true);
        await using var off = new HotDirectoryRig("deletes-off");
        foreach (var rig in new[] { on, off })
        {
            rig.Write("gone.txt", 10, 1);
            rig.Write("kept.txt", 10, 2);
            rig.Start();
            Assert.True(await rig.WaitDeliveredAsync(new[] { "gone.txt", "kept.txt" }));
            File.Delete(Path.Combine(rig.Watch, "gone.txt"));
        }
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => !File.Exists(on.Remote("gone.txt"))), "delete was not forwarded");
        await Task.Delay(1500);
        Assert.True(File.Exists(off.Remote("gone.txt")), "delete was forwarded although forwarding is off");
        Assert.True(File.Exists(on.Remote("kept.txt")));
    }

    [Fact]
    public async Task A_delete_that_fails_at_the_destination_is_retried_and_the_senders_keep_going()
    {
        await using var rig = new HotDirectoryRig("delete-fails", s => { s.ForwardDeletes = true; s.MaxAttempts = 2; s.Senders = 1; });
        rig.Write("x.bin", 10, 1);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "x.bin" }));
        // the remote name becomes a non-empty folder: removing it fails for this message, not for the connection
        File.Delete(rig.Remote("x.bin"));
        Directory.CreateDirectory(Path.Combine(rig.Remote("x.bin"), "inside"));
        System.Diagnostics.Process.Start("chown", $"-R {HpcCampaign.Tests.TestEnv.SshUser} \"{rig.Remote("x.bin")}\"")!.WaitForExit();
        File.Delete(Path.Combine(rig.Watch, "x.bin"));
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryStatusReader.DeadLetters("delete-fails", rig.State).Count == 1), "no dead letter for the failed delete");
        rig.Write("after.bin", 20, 2);
        Assert.True(await rig.WaitDeliveredAsync(new[] { "after.bin" }), "the sender stopped after a failed delete");
        Assert.True(Directory.Exists(Path.Combine(rig.Remote("x.bin"), "inside")));
    }

    [Fact]
    public async Task Remove_after_send_deletes_the_source_only_after_delivery_and_never_the_remote_copy()
    {
        await using var rig = new HotDirectoryRig("remove", s => { s.RemoveAfterSend = true; s.ForwardDeletes = true; });
        var data = new byte[4096];
        new Random(7).NextBytes(data);
        rig.Write("x.bin", 4096, 7);
        rig.Start();
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => !File.Exists(Path.Combine(rig.Watch, "x.bin"))), "source not removed");
        await Task.Delay(1500);
        Assert.True(File.Exists(rig.Remote("x.bin")), "remote copy must stay");
        Assert.Equal(data, File.ReadAllBytes(rig.Remote("x.bin")));
    }

    [Fact]
    public async Task Host_key_mismatch_is_refused_and_nothing_is_sent()
    {
        await using var rig = new HotDirectoryRig("mismatch", s => s.KnownHostsFile = HpcCampaign.Tests.TestEnv.SshKnownHostsMismatch);
        rig.Write("secret.bin", 100, 1);
        var ex = await Assert.ThrowsAsync<HpcException>(() => HotDirectoryRunner.RunAsync(rig.Settings, rig.Sink, CancellationToken.None));
        Assert.Equal("HostKeyMismatch", ex.ErrorId);
        Assert.False(Directory.Exists(rig.RemoteRoot));
        Assert.False(HotDirectoryRunner.IsRunning(rig.State));
    }

    [Fact]
    public async Task Failing_files_are_retried_with_backoff_then_dead_lettered_and_can_be_requeued()
    {
        // the remote folder is a file: every delivery fails for the file, not for the connection
        await using var rig = new HotDirectoryRig("dead", s => { s.MaxAttempts = 3; s.Senders = 1; });
        var blocker = Path.Combine(HpcCampaign.Tests.TestEnv.SshHome, rig.RemoteDirectory);
        Directory.CreateDirectory(blocker);
        File.WriteAllText(Path.Combine(blocker, "on_cluster"), "not a folder");
        System.Diagnostics.Process.Start("chown", $"-R {HpcCampaign.Tests.TestEnv.SshUser} \"{blocker}\"")!.WaitForExit();
        rig.Write("doomed.bin", 50, 1);
        rig.Start();
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryStatusReader.DeadLetters("dead", rig.State).Count == 1), "no dead letter");
        var dl = HotDirectoryStatusReader.DeadLetters("dead", rig.State).Single();
        Assert.Equal("doomed.bin", dl.RelPath);
        Assert.Equal(3, dl.Attempts);
        Assert.Contains("RemotePathNotDirectory", dl.LastError);
        Assert.Contains(rig.Sink.Errors, e => e.ErrorId == "DeliveryDeadLettered");
        // the start-up write probe saw it first, as a warning
        Assert.Contains(rig.Sink.Warnings, w => w.Contains("cannot take files yet") && w.Contains("not a folder"));

        File.Delete(Path.Combine(blocker, "on_cluster"));
        Assert.True(HotDirectoryStatusReader.Requeue(rig.State, dl.Id));
        Assert.False(HotDirectoryStatusReader.Requeue(rig.State, dl.Id));
        Assert.True(await rig.WaitDeliveredAsync(new[] { "doomed.bin" }));
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryStatusReader.DeadLetters("dead", rig.State).Count == 0));
    }

    [Fact]
    public async Task A_second_instance_on_the_same_state_is_refused()
    {
        await using var rig = new HotDirectoryRig("twice");
        rig.Start();
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryRunner.IsRunning(rig.State)));
        var ex = await Assert.ThrowsAsync<HpcException>(() => HotDirectoryRunner.RunAsync(rig.Settings, new CollectingSink(), CancellationToken.None));
        Assert.Equal("HotDirectoryAlreadyRunning", ex.ErrorId);
        Assert.True(await HotDirectoryRunner.RequestStopAsync(rig.State, TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.True(rig.Running!.IsCompleted);
    }

    [Fact]
    public async Task Verification_by_read_back_also_delivers()
    {
        await using var rig = new HotDirectoryRig("readback", s => s.Verify = "ReadBack");
        rig.Write("r.bin", 200_000, 9);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "r.bin" }));
        Assert.Equal(SHA512.HashData(File.ReadAllBytes(Path.Combine(rig.Watch, "r.bin"))), SHA512.HashData(File.ReadAllBytes(rig.Remote("r.bin"))));
    }

    [Theory]
    [InlineData("scp")]
    [InlineData("rsync")]
    public async Task Large_files_go_through_the_accelerator_and_are_still_verified(string accelerator)
    {
        await using var rig = new HotDirectoryRig("accel-" + accelerator, s => { s.Accelerator = accelerator; s.AcceleratorThresholdMiB = 1; });
        rig.Write("big file.bin", 3 * 1024 * 1024 + 17, 5);
        rig.Write("small.bin", 1000, 6);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "big file.bin", "small.bin" }));
        Assert.Contains(rig.Sink.VerboseMessages, m => m.Contains("big file.bin") && m.Contains("via " + accelerator));
        Assert.DoesNotContain(rig.Sink.VerboseMessages, m => m.Contains("small.bin") && m.Contains(" via "));
        Assert.Empty(rig.RemoteTempFiles());
    }

    [Fact]
    public async Task A_failing_accelerator_is_a_failure_not_a_success()
    {
        await using var rig = new HotDirectoryRig("accel-fail", s => { s.Accelerator = "/nonexistent/scp"; s.AcceleratorThresholdMiB = 1; s.MaxAttempts = 2; });
        rig.Write("big.bin", 2 * 1024 * 1024, 5);
        rig.Start();
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryStatusReader.DeadLetters("accel-fail", rig.State).Count == 1), "no dead letter");
        Assert.Contains("AcceleratorFailed", HotDirectoryStatusReader.DeadLetters("accel-fail", rig.State)[0].LastError);
        Assert.False(File.Exists(rig.Remote("big.bin")));
        Assert.Empty(rig.RemoteTempFiles());
    }

    [Fact]
    public async Task A_vanished_watch_folder_is_not_taken_for_deleted_files()
    {
        await using var rig = new HotDirectoryRig("unmount", s => { s.ForwardDeletes = true; s.RescanSeconds = 0.5; });
        rig.Write("keep.bin", 100, 1);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "keep.bin" }));
        Directory.Move(rig.Watch, rig.Watch + ".away");   // as if the file system were unmounted
        try
        {
            Assert.True(await HotDirectoryRig.WaitUntilAsync(() => rig.Sink.Warnings.Any(w => w.Contains("missing")), 10));
            await Task.Delay(1000);
            Assert.True(File.Exists(rig.Remote("keep.bin")), "remote copy deleted while the watch folder was away");
        }
        finally
        {
            Directory.Move(rig.Watch + ".away", rig.Watch);
        }
        await Task.Delay(1500);
        Assert.True(File.Exists(rig.Remote("keep.bin")));
    }
}
