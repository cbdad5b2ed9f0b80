namespace HpcCampaign.Tests.HotDirectory;

/// <summary>A watch folder, a state folder, a fresh remote folder (the test sshd's home is on this machine) and a YAML config.</summary>
internal sealed class HotDirectoryFixture : IDisposable
{
    public HotDirectoryFixture(string name, string extraYaml = "", [System.Runtime.CompilerServices.CallerMemberName] string test = "")
    {
        Name = name;
        Root = TestEnv.NewTempDir(test);
        Watch = Path.Combine(Root, "to_cluster");
        State = Path.Combine(Root, "state");
        Directory.CreateDirectory(Watch);
        RemoteDirectory = $"hotdir-mod-{Guid.NewGuid():N}"[..23];
        ConfigPath = Path.Combine(Root, "hot.yaml");
        File.WriteAllText(ConfigPath, $"""
            name: {name}
            watch: {Watch}
            stateDirectory: {State}
            senders: 2
            settleSeconds: 0.3
            rescanSeconds: 2
            metricsIntervalSeconds: 0.5
            retryBaseSeconds: 0.2
            retryMaxSeconds: 1
            remote:
              host: {TestEnv.SshHost}
              port: {TestEnv.SshPort}
              user: {TestEnv.SshUser}
              directory: {RemoteDirectory}/on_cluster
              keyFile: {TestEnv.SshKey}
              knownHosts: {TestEnv.SshKnownHosts}
            {extraYaml}
            """);
    }

    public string Name { get; }
    public string Root { get; }
    public string Watch { get; }
    public string State { get; }
    public string RemoteDirectory { get; }
    public string ConfigPath { get; }
    public string RemoteRoot => Path.Combine(TestEnv.SshHome, RemoteDirectory, "on_cluster");
    public string Remote(string rel) => Path.Combine(RemoteRoot, rel);

    public void Write(string rel, int size, int seed)
    {
        var path = Path.Combine(Watch, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        File.WriteAllBytes(path + ".tmp", data);
        File.Move(path + ".tmp", path, true);
    }

    public bool Delivered(string rel) =>
        File.Exists(Remote(rel)) && File.ReadAllBytes(Remote(rel)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Watch, rel)));

    public static bool WaitUntil(Func<bool> condition, int seconds)
    {
        for (var i = 0; i < seconds * 10; i++)
        {
            if (condition()) return true;
            Thread.Sleep(100);
        }
        return condition();
    }

    public void Dispose()
    {
        try { Directory.Delete(Path.Combine(TestEnv.SshHome, RemoteDirectory), true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        try { Directory.Delete(Root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
