using System.Net;
using System.Net.Sockets;
using HpcCampaign.Tests;

namespace HpcCampaign.Engine.Tests.HotDirectory;

/// <summary>
/// The SSH server goes away for a while: the test reaches sshd through a TCP relay it can cut (every open connection
/// dropped, new ones refused) and restore on the same port. Files keep arriving meanwhile; all must be delivered
/// once the server is back, with no dead letters (an outage is not the files' fault).
/// </summary>
public sealed class SshOutageTests
{
    private sealed class Relay : IDisposable
    {
        private readonly int _target;
        private TcpListener? _listener;
        private readonly List<TcpClient> _open = new();
        private CancellationTokenSource _cts = new();

        public Relay(int target)
        {
            _target = target;
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }

        public int Port { get; }

        public void Up()
        {
            _cts = new CancellationTokenSource();
            _listener = new TcpListener(IPAddress.Loopback, Port);
            _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            _listener.Start();
            var listener = _listener;
            var ct = _cts.Token;
            _ = Task.Run(async () =>
            {
                while (!ct.IsCancellationRequested)
                {
                    TcpClient inbound;
                    try { inbound = await listener.AcceptTcpClientAsync(ct); }
                    catch (Exception) { return; }
                    var outbound = new TcpClient();
                    try { await outbound.ConnectAsync(IPAddress.Loopback, _target, ct); }
                    catch (Exception) { inbound.Dispose(); continue; }
                    lock (_open) { _open.Add(inbound); _open.Add(outbound); }
                    _ = Pump(inbound, outbound, ct);
                    _ = Pump(outbound, inbound, ct);
                }
            });
        }

        private static async Task Pump(TcpClient from, TcpClient to, CancellationToken ct)
        {
            try { await from.GetStream().CopyToAsync(to.GetStream(), ct); }
            catch (Exception) { }
            from.Dispose();
            to.Dispose();
        }

        public void Down()
        {
            _cts.Cancel();
            _listener?.Stop();
            lock (_open)
            {
                foreach (var c in _open) c.Dispose();
                _open.Clear();
            }
        }

        public void Dispose() => Down();
    }

    [Fact]
    public async Task Sshd_outage_delays_but_loses_nothing()
    {
        using var relay = new Relay(TestEnv.SshPort);
        relay.Up();
        await using var rig = new HotDirectoryRig("sshdown", s => { s.RemotePort = relay.Port; s.MaxAttempts = 2; });
        var knownHosts = Path.Combine(rig.Root, "known_hosts");
        var entry = File.ReadAllText(TestEnv.SshKnownHosts).Trim();
        File.WriteAllText(knownHosts, $"[127.0.0.1]:{relay.Port} {entry[(entry.IndexOf(' ') + 1)..]}\n");
        rig.Settings.KnownHostsFile = knownHosts;

        rig.Write("before.bin", 2000, 1);
        rig.Start();
        Assert.True(await rig.WaitDeliveredAsync(new[] { "before.bin" }));
        relay.Down();
        var during = Enumerable.Range(0, 6).Select(i => $"down/{i}.bin").ToList();
        foreach (var d in during) rig.Write(d, 50_000, during.IndexOf(d) + 5);
        // the senders notice the outage (bounded wait), and nothing gets through meanwhile
        Assert.True(await HotDirectoryRig.WaitUntilAsync(() => rig.Sink.Warnings.Any(w => w.Contains("files stay queued")), 30), "outage not noticed");
        await Task.Delay(1000);
        Assert.False(File.Exists(rig.Remote(during[0])));
        relay.Up();
        Assert.True(await rig.WaitDeliveredAsync(during.Append("before.bin"), 60), "files queued during the outage were not delivered");
        Assert.Empty(Engine.HotDirectory.HotDirectoryStatusReader.DeadLetters("sshdown", rig.State));
        await rig.StopAsync();
        Assert.Empty(rig.RemoteTempFiles());
        Assert.Contains(rig.Sink.Warnings, w => w.Contains("files stay queued"));
    }
}
