using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Engine.Transfer;
using HpcCampaign.Tests;

namespace HpcCampaign.Engine.Tests.HotDirectory;

public sealed class V03MessageTests
{
    [Fact]
    public void Times_follow_sr3_format_without_the_exponent_bug()
    {
        var t = new DateTime(2026, 11, 24, 11, 1, 12, DateTimeKind.Utc);
        Assert.Equal("20261124T110112", V03Message.FormatTime(t));
        Assert.Equal("20261124T110112.4278691", V03Message.FormatTime(t.AddTicks(4278691)));
        Assert.Equal("20261124T110112.0000001", V03Message.FormatTime(t.AddTicks(1)));   // sr3 would write 1e-07
        Assert.Equal("20261124T110112.5", V03Message.FormatTime(t.AddMilliseconds(500)));
        Assert.Equal(t.AddTicks(4278691), V03Message.ParseTime("20261124T110112.427869081").AddTicks(-0));
        // Python's '{:.9g}' exponent form and v02 (no T) are read too
        Assert.Equal(t.AddTicks(2), V03Message.ParseTime("20261124T110112.23977661e-06"));
        Assert.Equal(t, V03Message.ParseTime("20261124110112"));
        Assert.Throws<HpcException>(() => V03Message.ParseTime("2026"));
    }

    [Fact]
    public void Routing_key_is_prefix_plus_directories_with_sr3_escapes()
    {
        Assert.Equal("v03", V03Message.RoutingKey("v03", "a.txt"));
        Assert.Equal("v03.sub.deeper", V03Message.RoutingKey("v03", "sub/deeper/b.bin"));
        Assert.Equal("v03.a%23b.c%22d", V03Message.RoutingKey("v03", "a#b/c*d/x"));
        var longKey = V03Message.RoutingKey("v03", string.Join('/', Enumerable.Repeat("é" + new string('d', 40), 10)) + "/f");
        Assert.True(Encoding.UTF8.GetByteCount(longKey) <= 255);
        Assert.DoesNotContain('\uFFFD', longKey);
    }

    [Fact]
    public void Delete_message_has_the_sr3_shape_and_round_trips()
    {
        var m = new V03Message { PubTime = "20261124T110112.5", RelPath = "d/x.bin", BaseUrl = "file:/tmp/hot", Source = "me", IsRemove = true };
        var json = m.ToJson();
        Assert.Equal("""{"pubTime":"20261124T110112.5","relPath":"d/x.bin","baseUrl":"file:/tmp/hot","source":"me","fileOp":{"remove":""}}""", json);
        var back = V03Message.Parse(json);
        Assert.True(back.IsRemove);
        Assert.Equal("d/x.bin", back.RelPath);
        Assert.Equal("InvalidMessage", Assert.Throws<HpcException>(() => V03Message.Parse("""{"relPath":"x","baseUrl":"file:/"}""")).ErrorId);
        Assert.Equal("InvalidMessage", Assert.Throws<HpcException>(() => V03Message.Parse("not json")).ErrorId);
        // size as a string (accepted by sr3) and unknown fields are fine
        Assert.Equal(12, V03Message.Parse("""{"pubTime":"20261124T110112","relPath":"/a","baseUrl":"x","size":"12","geometry":{}}""").Size);
    }

    [Fact]
    public void Unsafe_relative_paths_are_recognised()
    {
        Assert.True(SenderWorker.IsSafeRelative("a/b c/d.bin"));
        foreach (var bad in new[] { "", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b" })
            Assert.False(SenderWorker.IsSafeRelative(bad), bad);
    }
}

public sealed class PathFilterTests
{
    [Fact]
    public void Defaults_skip_temp_and_dot_names_anywhere_in_the_path()
    {
        var f = new PathFilter(new[] { "*" }, new[] { "*.tmp", ".*" });
        Assert.True(f.Accepts("a.txt"));
        Assert.True(f.Accepts("run 1/b.h5"));
        Assert.False(f.Accepts("a.tmp"));
        Assert.False(f.Accepts(".hidden"));
        Assert.False(f.Accepts(".cache/x.bin"));
        Assert.False(f.Accepts("sub/.partial"));
        var only = new PathFilter(new[] { "*.h5", "raw/**/*.dat" }, Array.Empty<string>());
        Assert.True(only.Accepts("x/y.h5"));
        Assert.True(only.Accepts("raw/a/b/c.dat"));
        Assert.False(only.Accepts("other/c.dat"));
        Assert.False(only.Accepts("x/y.txt"));
    }
}

public sealed class KnownHostsTests
{
    [Fact]
    public void Plain_hashed_mismatch_unknown_and_revoked()
    {
        var dir = TestEnv.NewTempDir();
        var key = RandomNumberGenerator.GetBytes(51);
        var other = RandomNumberGenerator.GetBytes(51);
        var salt = RandomNumberGenerator.GetBytes(20);
        using var h = new HMACSHA1(salt);
        var hashed = $"|1|{Convert.ToBase64String(salt)}|{Convert.ToBase64String(h.ComputeHash(Encoding.ASCII.GetBytes("[hashed.example]:2222")))}";
        var path = Path.Combine(dir, "known_hosts");
        File.WriteAllText(path, $"""
            # comment
            [127.0.0.1]:2222,plain.example ssh-ed25519 {Convert.ToBase64String(key)}
            {hashed} ssh-ed25519 {Convert.ToBase64String(key)}
            @revoked bad.example ssh-ed25519 {Convert.ToBase64String(other)}
            bad.example ssh-ed25519 {Convert.ToBase64String(key)}
            """);
        var kh = KnownHosts.FromFile(path);
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("127.0.0.1", 2222, key));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("plain.example", 22, key));
        Assert.Equal(HostKeyVerdict.Trusted, kh.Verify("hashed.example", 2222, key));
        Assert.Equal(HostKeyVerdict.Mismatch, kh.Verify("127.0.0.1", 2222, other));
        Assert.Equal(HostKeyVerdict.Unknown, kh.Verify("127.0.0.1", 22, key));
        Assert.Equal(HostKeyVerdict.Revoked, kh.Verify("bad.example", 22, other));
        Assert.Equal("KnownHostsNotFound", Assert.Throws<HpcException>(() => KnownHosts.FromFile(Path.Combine(dir, "none"))).ErrorId);
    }
}

public sealed class BrokerCredentialsTests
{
    [Fact]
    public void Credentials_conf_supplies_the_password_and_masking_hides_it()
    {
        var dir = TestEnv.NewTempDir();
        var file = Path.Combine(dir, "credentials.conf");
        File.WriteAllText(file, """
            # sr3 credentials
            amqps://other:nope@broker.example:5671/ login_method=PLAIN
            amqp://tsource:s%3acret@broker.example:5672/vh
            sftp://xfer@host ssh_keyfile=/k
            """);
        var uri = BrokerCredentials.Resolve("amqp://tsource@broker.example:5672/vh", null, null, file);
        Assert.Equal("tsource:s%3acret", uri.UserInfo);
        Assert.Equal("amqp://tsource:***@broker.example:5672/vh", BrokerCredentials.Mask(uri.ToString()));
        var explicitPw = BrokerCredentials.Resolve("amqp://broker.example/vh", "u", "p w", file);
        Assert.Equal("u:p%20w", explicitPw.UserInfo);
        var noMatch = BrokerCredentials.Resolve("amqp://tsource@broker.example:5672/othervh", null, null, file);
        Assert.Equal("tsource", noMatch.UserInfo);
        Assert.Equal("tsource", BrokerCredentials.UserFromUrl("amqp://tsource@h/"));
    }
}

public sealed class HotDirectoryStoreTests
{
    [Fact]
    public void Lease_ack_fail_dead_requeue_and_crash_recovery()
    {
        var store = new HotDirectoryStore(TestEnv.NewTempDir());
        store.Enqueue(new[] { new OutgoingMessage("v03", "{1}", new CatalogChange("a", 10, 100)), new OutgoingMessage("v03", "{2}", new CatalogChange("b", 20, 200)) });
        Assert.Equal((10L, 100L), store.LoadCatalog()["a"]);
        Assert.Equal((20L, 200L), store.LoadCatalog()["b"]);
        var first = store.Lease(1).Single();
        Assert.Equal("{1}", first.Body);
        var second = store.Lease(5).Single();
        Assert.Equal("{2}", second.Body);
        Assert.Empty(store.Lease(5));
        Assert.Equal((0L, 2L, 0L, 0L), store.Counts());
        store.Complete(new[] { first.Id });
        store.Fail(second.Id, 1, "boom", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000, dead: false);
        Assert.Empty(store.Lease(5));   // not due yet
        Assert.Equal((1L, 0L, 1L, 0L), store.Counts());
        store.Fail(second.Id, 2, "boom", 0, dead: true);
        Assert.Equal("boom", store.DeadLetters().Single().LastError);
        Assert.True(store.Requeue(second.Id));
        var again = store.Lease(5).Single();
        Assert.Equal(0, again.Attempts);
        Assert.Equal(1, store.ReleaseAllLeases());   // what a restart after a crash does
        Assert.Single(store.Lease(5));
        store.Enqueue(new[] { new OutgoingMessage("v03", "{3}", new CatalogChange("a", 0, 0, Forget: true)) });
        Assert.False(store.LoadCatalog().ContainsKey("a"));
    }

    [Fact]
    public void Batches_lease_in_order_and_settle_in_one_call()
    {
        var store = new HotDirectoryStore(TestEnv.NewTempDir());
        store.Enqueue(Enumerable.Range(0, 10).Select(i => new OutgoingMessage("v03", $"{{{i}}}", new CatalogChange($"f{i}", i, i))).ToList());
        Assert.Equal(10, store.LoadCatalog().Count);
        var batch = store.Lease(4);
        Assert.Equal(new[] { "{0}", "{1}", "{2}", "{3}" }, batch.Select(w => w.Body));
        var rest = store.Lease(100);
        Assert.Equal(6, rest.Count);
        store.Complete(batch.Select(w => w.Id));
        store.Release(rest.Take(3).Select(w => w.Id), 0);
        Assert.Equal((3L, 3L, 0L, 0L), store.Counts());
        Assert.Equal(rest.Take(3).Select(w => w.Id), store.Lease(100).Select(w => w.Id));
    }
}

public sealed class HotDirectorySettingsTests
{
    [Fact]
    public void Yaml_config_loads_and_validates()
    {
        var dir = TestEnv.NewTempDir();
        Directory.CreateDirectory(Path.Combine(dir, "w"));
        var path = Path.Combine(dir, "hot.yaml");
        File.WriteAllText(path, $"""
            name: lab
            watch: {Path.Combine(dir, "w")}
            broker: amqp://tsource@localhost/
            senders: 4
            exclude: ["*.part", ".*"]
            forwardDeletes: yes
            remote:
              host: cluster.example
              port: 2222
              directory: on_cluster
            """);
        var s = HotDirectorySettings.Load(path);
        s.Validate();
        Assert.Equal("lab", s.Name);
        Assert.Equal(4, s.Senders);
        Assert.True(s.ForwardDeletes);
        Assert.Equal(new[] { "*.part", ".*" }, s.Exclude);
        Assert.Equal("xs_tsource_hot", s.EffectiveExchange);
        Assert.Equal("q_tsource.hotdirectory.lab", s.EffectiveQueue);
        Assert.Equal(2222, s.RemotePort);
        File.WriteAllText(path, "senders: many\n");
        Assert.Equal("InvalidHotDirectoryConfig", Assert.Throws<HpcException>(() => HotDirectorySettings.Load(path)).ErrorId);
        var bad = new HotDirectorySettings { WatchDirectory = dir, RemoteHost = "h", Senders = 0 };
        Assert.Equal("InvalidHotDirectoryConfig", Assert.Throws<HpcException>(bad.Validate).ErrorId);
    }

    [Fact]
    public void Systemd_unit_text_runs_start_and_stop_with_the_config()
    {
        var s = new HotDirectorySettings { Name = "lab", WatchDirectory = "/data/to_cluster", RemoteHost = "c", RemoteDirectory = "on_cluster" };
        var unit = ServiceRegistration.SystemdUnit(s, "/home/u/it's 100%.yaml", "/usr/bin/dotnet /opt/hpcc.dll");
        Assert.Contains("ExecStart=/usr/bin/dotnet /opt/hpcc.dll -Command \"Start-HotDirectory -ConfigPath '/home/u/it''s 100%%.yaml'\"", unit);
        Assert.Contains("Restart=always", unit);
        var xml = ServiceRegistration.ScheduledTaskXml(s, @"C:\hot.yaml", "\"C:\\Program Files\\PowerShell\\7\\pwsh.exe\" -NoProfile");
        Assert.Contains(@"<Command>C:\Program Files\PowerShell\7\pwsh.exe</Command>", xml);
        Assert.Contains("Start-HotDirectory -ConfigPath &apos;C:\\hot.yaml&apos;", xml);
    }
}

public sealed class StatusReaderTests
{
    [Fact]
    public void Columns_and_states_come_from_the_metrics_files()
    {
        var state = TestEnv.NewTempDir();
        var now = DateTime.UtcNow;
        double E(DateTime t) => ComponentMetrics.Epoch(t);
        void Write(MetricsSnapshot m) =>
            File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(state, "metrics")).FullName, $"{m.Component}_{m.Instance:00}.json"),
                JsonSerializer.Serialize(m, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        Write(new MetricsSnapshot { Component = "sender", Instance = 1, Expected = 2, Started = E(now.AddSeconds(-100)), Written = E(now), WindowStart = E(now.AddSeconds(-10)),
            RxMessages = 10, Rejected = 1, FilesOut = 9, DataOut = 9000, DataIn = 9000, LagMax = 40, LagTotal = 400, LagCount = 10, LastTransfer = E(now.AddSeconds(-3)),
            BrokerDisconnectSeconds = 25, TransferConnectSeconds = 50 });
        Write(new MetricsSnapshot { Component = "sender", Instance = 2, Expected = 2, Started = E(now.AddSeconds(-100)), Written = E(now), WindowStart = E(now.AddSeconds(-10)),
            RxMessages = 10, FilesOut = 10, DataOut = 1000, BrokerDisconnectSeconds = 25, TransferConnectSeconds = 50 });
        var rows = HotDirectoryStatusReader.Read("x", state, now);
        var sender = rows.Single(r => r.Component == "sender");
        Assert.Equal("miss", sender.State);   // metrics of a live run but no process holds the lock
        Assert.Equal(0, sender.Running);
        Assert.Equal(2, sender.Expected);
        Assert.Equal(40, sender.LagMax);
        Assert.Equal(40, sender.LagAvg, 3);
        Assert.Equal(5, sender.RejectedPercent);
        Assert.Equal(1.9, sender.FilesPerSecond, 3);
        Assert.Equal(1000, sender.BytesOutPerSecond, 3);
        Assert.Equal(75, sender.BrokerConnectedPercent);
        Assert.Equal(50, sender.TransferConnectedPercent);
        Assert.Equal(3, sender.SinceLast!.Value.TotalSeconds, 1);
        Assert.Equal("stop", rows.Single(r => r.Component == "watch").State);
    }
}
