#pragma warning disable CA1416 // these tests run on Linux (the test sshd is local)
using HpcCampaign.Engine.Transfer;
using HpcCampaign.Tests;

namespace HpcCampaign.Engine.Tests.HotDirectory;

/// <summary>Batched small-file delivery over one SFTP session against the real sshd, on both request paths.</summary>
public sealed class SftpBatchTests
{
    private static SftpDestination Destination(string remoteDir) =>
        new(new SftpEndpoint(TestEnv.SshHost, TestEnv.SshPort, TestEnv.SshUser, TestEnv.SshKey, TestEnv.SshKnownHosts, remoteDir), "t1");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_lands_complete_with_mode_and_mtime_and_leaves_no_temp_files(bool publicApi)
    {
        SftpRequests.ForcePublicApi = publicApi;
        var local = TestEnv.NewTempDir();
        var remoteDir = $"batch-test-{Guid.NewGuid():N}"[..22];
        var rng = new Random(3);
        var files = new List<BatchFile>();
        var mtime = new DateTime(2023, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        foreach (var (name, size) in new[] { ("a.bin", 0), ("b.bin", 1), ("sub/c d.bin", 70_000), ("sub/deeper/e.bin", 1024 * 1024) })
        {
            var path = Path.Combine(local, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = new byte[size];
            rng.NextBytes(data);
            File.WriteAllBytes(path, data);
            File.SetLastWriteTimeUtc(path, mtime);
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherExecute);
            files.Add(new BatchFile(path, name, Convert.ToInt32("641", 8)));
        }
        // one file that is missing locally fails alone
        files.Add(new BatchFile(Path.Combine(local, "gone.bin"), "gone.bin", Convert.ToInt32("644", 8)));

        using var destination = Destination(remoteDir);
        destination.Connect();
        Assert.Equal(!publicApi, destination.UsesDirectRequests);
        var outcomes = await destination.SendBatchAsync(files, CancellationToken.None);

        Assert.Equal(files.Count, outcomes.Count);
        Assert.Equal("LocalReadFailed", outcomes[^1].Error?.ErrorId);
        var remoteRoot = Path.Combine(TestEnv.SshHome, remoteDir);
        for (var i = 0; i < files.Count - 1; i++)
        {
            Assert.Null(outcomes[i].Error);
            var remote = Path.Combine(remoteRoot, files[i].RelPath);
            Assert.Equal(File.ReadAllBytes(files[i].LocalPath), File.ReadAllBytes(remote));
            Assert.Equal(mtime, File.GetLastWriteTimeUtc(remote));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherExecute, File.GetUnixFileMode(remote));
            Assert.Equal(new FileInfo(files[i].LocalPath).Length, outcomes[i].Result!.Bytes);
        }
        Assert.False(File.Exists(Path.Combine(remoteRoot, "gone.bin")));
        Assert.Empty(Directory.GetFiles(remoteRoot, "*.hpcc-tmp", SearchOption.AllDirectories));

        // sent again: the same bytes replace the final names, nothing else appears
        File.WriteAllText(Path.Combine(local, "b.bin"), "changed");
        File.SetLastWriteTimeUtc(Path.Combine(local, "b.bin"), mtime);
        outcomes = await destination.SendBatchAsync(files.Take(2).ToList(), CancellationToken.None);
        Assert.All(outcomes, o => Assert.Null(o.Error));
        Assert.Equal("changed", File.ReadAllText(Path.Combine(remoteRoot, "b.bin")));
        Assert.Equal(4, Directory.GetFiles(remoteRoot, "*", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task A_file_that_cannot_be_written_fails_alone_and_leaves_no_temp_file()
    {
        var local = TestEnv.NewTempDir();
        var remoteDir = $"batch-test-{Guid.NewGuid():N}"[..22];
        File.WriteAllText(Path.Combine(local, "ok.txt"), "fine");
        File.WriteAllText(Path.Combine(local, "blocked.txt"), "refused");
        var remoteRoot = Path.Combine(TestEnv.SshHome, remoteDir);
        // the final name is a non-empty folder owned by the remote user: the rename over it fails
        Directory.CreateDirectory(Path.Combine(remoteRoot, "blocked.txt", "inside"));
        System.Diagnostics.Process.Start("chown", $"-R {TestEnv.SshUser} \"{remoteRoot}\"")!.WaitForExit();

        using var destination = Destination(remoteDir);
        var outcomes = await destination.SendBatchAsync(new[]
        {
            new BatchFile(Path.Combine(local, "ok.txt"), "ok.txt", Convert.ToInt32("644", 8)),
            new BatchFile(Path.Combine(local, "blocked.txt"), "blocked.txt", Convert.ToInt32("644", 8)),
        }, CancellationToken.None);

        Assert.Null(outcomes[0].Error);
        Assert.Equal("fine", File.ReadAllText(Path.Combine(remoteRoot, "ok.txt")));
        Assert.NotNull(outcomes[1].Error);
        Assert.NotEqual(HpcErrorKind.ConnectionError, outcomes[1].Error!.Kind);
        Assert.True(Directory.Exists(Path.Combine(remoteRoot, "blocked.txt", "inside")));
        Assert.Empty(Directory.GetFiles(remoteRoot, "*.hpcc-tmp", SearchOption.AllDirectories));
    }
}
