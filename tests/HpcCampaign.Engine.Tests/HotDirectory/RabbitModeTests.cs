using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Tests;
using RabbitMQ.Client;

namespace HpcCampaign.Engine.Tests.HotDirectory;

/// <summary>
/// RabbitMQ mode against the real test broker. In the shared-broker collection, so the outage test (which stops and
/// restarts the broker) never runs alongside any other broker test.
/// </summary>
[Collection(HpcCampaign.Tests.SharedBroker.Name)]
public sealed class RabbitModeTests
{
    private static string Unique(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..(prefix.Length + 12)];

    /// <summary>The broker URL without its password, and a credentials.conf (sr3 form) that holds it.</summary>
    private static (string Url, string CredFile) SplitCredentials(string dir)
    {
        var full = new Uri(TestEnv.AmqpUrl);
        var user = full.UserInfo.Split(':')[0];
        var noPassword = new UriBuilder(full) { Password = "" , UserName = user }.Uri.ToString();
        var cred = Path.Combine(dir, "credentials.conf");
        File.WriteAllText(cred, "# sr3 style\n" + TestEnv.AmqpUrl + " login_method=PLAIN\n");
        return (noPassword, cred);
    }

    private static async Task<IConnection> ConnectAsync() =>
        await new ConnectionFactory { Uri = new Uri(TestEnv.AmqpUrl) }.CreateConnectionAsync();

    [Fact]
    public async Task Rabbit_mode_delivers_with_competing_senders_and_posts_exact_v03_messages()
    {
        var exchange = Unique("xs_hpcc_hot_");
        var queue = Unique("q_hpcc.hotdirectory.");
        var capture = Unique("q_hpcc.capture.");
        await using var conn = await ConnectAsync();
        await using var ch = await conn.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await ch.QueueDeclareAsync(capture, durable: false, exclusive: false, autoDelete: false);
        await ch.QueueBindAsync(capture, exchange, "v03.#");
        try
        {
            HotDirectoryRig? rigRef = null;
            await using var rig = new HotDirectoryRig("rabbit", s =>
            {
                s.Senders = 3;
                s.Exchange = exchange;
                s.Queue = queue;
                s.Prefetch = 5;
            });
            rigRef = rig;
            var (url, cred) = SplitCredentials(rig.Root);
            rig.Settings.BrokerUrl = url;
            rig.Settings.CredentialsFile = cred;
            var mtime = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc).AddTicks(1234567);
            rig.Write("a.txt", 1234, 1, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, mtime);
            rig.Write("sub/deeper/b.bin", 200_000, 2);
            var more = Enumerable.Range(0, 20).Select(i => $"batch/f{i:00}.dat").ToList();
            foreach (var m in more) rig.Write(m, 3000, 100 + more.IndexOf(m));
            rig.Start();
            Assert.True(await rig.WaitDeliveredAsync(more.Append("a.txt").Append("sub/deeper/b.bin")), "not delivered");

            var ok = await ch.QueueDeclarePassiveAsync(queue);
            Assert.Equal(3u, ok.ConsumerCount);

            var got = new Dictionary<string, (string Key, IReadOnlyBasicProperties Props, string Body)>();
            for (var i = 0; i < 100 && got.Count < 22; i++)
            {
                var r = await ch.BasicGetAsync(capture, autoAck: true);
                if (r is null) { await Task.Delay(100); continue; }
                var body = Encoding.UTF8.GetString(r.Body.Span);
                got[JsonDocument.Parse(body).RootElement.GetProperty("relPath").GetString()!] = (r.RoutingKey, r.BasicProperties, body);
            }
            Assert.Equal(22, got.Count);

            var (key, props, json) = got["a.txt"];
            Assert.Equal("v03", key);
            Assert.Equal("v03.sub.deeper", got["sub/deeper/b.bin"].Key);
            Assert.Equal("application/json", props.ContentType);
            Assert.Equal("utf-8", props.ContentEncoding);
            Assert.Equal(DeliveryModes.Persistent, props.DeliveryMode);
            Assert.True(props.Headers is null || props.Headers.Count == 0);

            using var doc = JsonDocument.Parse(json);
            var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
            Assert.Equal(new[] { "pubTime", "relPath", "baseUrl", "source", "mode", "size", "mtime", "atime", "identity", "contentType" }, names);
            var root = doc.RootElement;
            Assert.Equal("file:" + rig.Watch, root.GetProperty("baseUrl").GetString());
            Assert.Equal("hpcc", root.GetProperty("source").GetString());
            Assert.Equal("640", root.GetProperty("mode").GetString());
            Assert.Equal(1234, root.GetProperty("size").GetInt64());
            Assert.Equal("20250102T030405.1234567", root.GetProperty("mtime").GetString());
            Assert.Equal(V03Message.FormatTime(File.GetLastAccessTimeUtc(Path.Combine(rig.Watch, "a.txt"))), root.GetProperty("atime").GetString());
            Assert.Equal("sha512", root.GetProperty("identity").GetProperty("method").GetString());
            Assert.Equal(Convert.ToBase64String(SHA512.HashData(File.ReadAllBytes(Path.Combine(rig.Watch, "a.txt")))),
                root.GetProperty("identity").GetProperty("value").GetString());
            Assert.Matches(@"^\d{8}T\d{6}(\.\d+)?$", root.GetProperty("pubTime").GetString());

            // the queue depth is sampled (passive declare) every few seconds: wait for a sample taken after the last delivery
            Assert.True(await HotDirectoryRig.WaitUntilAsync(() => HotDirectoryStatusReader.Read("rabbit", rig.State)
                .Single(s => s.Component == "sender") is { TotalFiles: 22, QueueDepth: 0 }), "sender metrics");
            var status = HotDirectoryStatusReader.Read("rabbit", rig.State);
            var sender = status.Single(s => s.Component == "sender");
            Assert.Equal("run", sender.State);
            Assert.Equal(3, sender.Running);
            Assert.Equal(0, sender.QueueDepth ?? -1);
            Assert.True(sender.BytesOutPerSecond > 0);
            Assert.True(sender.FilesPerSecond > 0);
            Assert.Equal(100, sender.BrokerConnectedPercent);
            Assert.Equal(22, status.Single(s => s.Component == "watch").TotalFiles);
            await rig.StopAsync();
            Assert.Empty(rig.Sink.Errors);
            Assert.DoesNotContain(rig.Sink.VerboseMessages.Concat(rig.Sink.Warnings), m => m.Contains("hpccpw"));
            Assert.DoesNotContain("hpccpw", string.Join("\n", Directory.GetFiles(rig.State, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".json") || f.EndsWith(".pid")).Select(File.ReadAllText)));
        }
        finally
        {
            await ch.QueueDeleteAsync(capture);
            await ch.QueueDeleteAsync(queue);
            await ch.ExchangeDeleteAsync(exchange);
        }
    }

    [Fact]
    public async Task Declare_failure_and_wrong_password_are_clear_errors()
    {
        var exchange = Unique("xs_hpcc_conflict_");
        await using var conn = await ConnectAsync();
        await using var ch = await conn.CreateChannelAsync();
        await ch.ExchangeDeclareAsync(exchange, ExchangeType.Fanout, durable: true, autoDelete: false);
        try
        {
            await using var rig = new HotDirectoryRig("declare", s => { s.BrokerUrl = TestEnv.AmqpUrl; s.Exchange = exchange; });
            var ex = await Assert.ThrowsAsync<HpcException>(() => HotDirectoryRunner.RunAsync(rig.Settings, rig.Sink, CancellationToken.None));
            Assert.Equal("BrokerDeclareFailed", ex.ErrorId);
            Assert.Contains(exchange, ex.Message);
            Assert.DoesNotContain("hpccpw", ex.Message);

            rig.Settings.BrokerUrl = TestEnv.AmqpUrl.Replace("hpccpw", "wrong-password");
            rig.Settings.Exchange = null;
            var auth = await Assert.ThrowsAsync<HpcException>(() => HotDirectoryRunner.RunAsync(rig.Settings, rig.Sink, CancellationToken.None));
            Assert.Equal("BrokerAuthenticationFailed", auth.ErrorId);
            Assert.DoesNotContain("wrong-password", auth.Message);
        }
        finally
        {
            await ch.ExchangeDeleteAsync(exchange);
        }
    }

    [Fact]
    public async Task Broker_outage_delays_but_loses_nothing()
    {
        var exchange = Unique("xs_hpcc_outage_");
        var queue = Unique("q_hpcc.outage.");
        await using var rig = new HotDirectoryRig("outage", s => { s.BrokerUrl = TestEnv.AmqpUrl; s.Exchange = exchange; s.Queue = queue; });
        rig.Write("before.bin", 1000, 1);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "before.bin" }));
        Ctl("pause");
        var during = Enumerable.Range(0, 5).Select(i => $"during/{i}.bin").ToList();
        try
        {
            foreach (var d in during) rig.Write(d, 2000, during.IndexOf(d) + 10);
            await Task.Delay(2000);
            Assert.False(File.Exists(rig.Remote(during[0])));
        }
        finally
        {
            Ctl("resume");
        }
        Assert.True(await rig.WaitDeliveredAsync(during.Append("before.bin"), 60), "files written during the outage were not delivered");
        await rig.StopAsync();
        Assert.Empty(rig.RemoteTempFiles());
        await using var conn = await ConnectAsync();
        await using var ch = await conn.CreateChannelAsync();
        await ch.QueueDeleteAsync(queue);
        await ch.ExchangeDeleteAsync(exchange);
    }

    private static void Ctl(string action)
    {
        var psi = new ProcessStartInfo("bash", $"\"{TestEnv.RabbitMqCtl}\" {action}") { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEndAsync();
        var err = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), $"rabbitmq {action} did not finish");
        Assert.True(p.ExitCode == 0, $"rabbitmq {action} failed: {err.Result}");
    }
}
