using System.Net;
using System.Net.Sockets;
using System.Text;
using HpcCampaign.Engine.Connector;

namespace HpcCampaign.Tests.Connector;

/// <summary>A TCP echo service on 127.0.0.1 (the "remote data server" the tunnels reach through the test sshd).</summary>
public sealed class EchoServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new();

    public EchoServer()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync();
    }

    public int Port { get; }

    private async Task AcceptAsync()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_cts.Token); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var s = client.GetStream();
                        var buf = new byte[65536];
                        int n;
                        while ((n = await s.ReadAsync(buf, _cts.Token)) > 0) await s.WriteAsync(buf.AsMemory(0, n), _cts.Token);
                    }
                    catch (Exception) { }
                }
            });
        }
    }

    public void Dispose()
    {
        _cts.Cancel();
        _listener.Stop();
    }
}

/// <summary>Builds hosts.yaml/key folders for the test sshd and talks the connector protocol.</summary>
public static class ConnectorKit
{
    public const string DemoKeyId = "9d137a56f6884765942bfd88a47063ab";
    public const string DemoKeyHex = "4f1b4d9c976a301f6e867f9881e5955cd737000a66ad755003c6ff0f157b89b5";
    public static string DemoKeyFile => Path.Combine(TestEnv.Fixtures, "campaign", "demo.key");

    /// <summary>A service entry for the test sshd; extra lines are appended (already indented by 4); identity "" leaves identity_file out.</summary>
    public static string SshService(string name, string serverPath, string? identity = null, string extra = "") =>
        $"  {name}:\n" +
        "    protocol: ssh\n" +
        $"    host: {TestEnv.SshHost}\n" +
        $"    port: {TestEnv.SshPort}\n" +
        $"    user: {TestEnv.SshUser}\n" +
        "    authentication: publickey\n" +
        (identity == "" ? "" : $"    identity_file: '{identity ?? TestEnv.SshKey}'\n") +
        $"    serverpath: '{serverPath.Replace("'", "''")}'\n" + extra;

    public static string EchoCommand(int port, string cookie = "0xabc") => $"echo \"port:{port};msg:no_error;cookie:{cookie}\"";

    public static ConnectorOptions Options(string dir, string hostsYaml, string? knownHosts = null, string? keysDir = null,
        bool logRequests = true, TimeSpan? readTimeout = null)
    {
        var hosts = Path.Combine(dir, "hosts.yaml");
        File.WriteAllText(hosts, hostsYaml);
        return new ConnectorOptions
        {
            Port = 0,
            HostsFile = hosts,
            KeysDirectory = keysDir ?? Path.Combine(dir, "keys"),
            StateDirectory = Path.Combine(dir, "state"),
            KnownHostsFiles = new[] { knownHosts ?? TestEnv.SshKnownHosts },
            AgentSocket = null,  // a developer's own ssh-agent must not change what the tests see
            LogRequests = logRequests,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            ServiceStartTimeout = TimeSpan.FromSeconds(20),
            RequestReadTimeout = readTimeout ?? TimeSpan.FromSeconds(10),
            FirstLocalPort = 28000 + Random.Shared.Next(0, 20000),
        };
    }

    /// <summary>Starts a connector and serves it in the background; dispose the handle to stop it.</summary>
    public static Running Start(ConnectorOptions options, string keyPassword = "")
    {
        var sink = new CollectingSink();
        var connector = CampaignConnector.Start(options, Encoding.UTF8.GetBytes(keyPassword), sink);
        var cts = new CancellationTokenSource();
        var run = connector.RunAsync(sink, cts.Token);
        return new Running(connector, sink, cts, run);
    }

    public sealed class Running : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts;
        public Running(CampaignConnector connector, CollectingSink sink, CancellationTokenSource cts, Task run)
        {
            Connector = connector;
            Sink = sink;
            _cts = cts;
            Run = run;
        }

        public CampaignConnector Connector { get; }
        public CollectingSink Sink { get; }
        public Task Run { get; }
        public int Port => Connector.Port;
        public Task<string> Ask(string request) => Request(Port, Encoding.UTF8.GetBytes(request));

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            await Run.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>One request, one reply (the server closes after replying). Bounded by a 60 s timeout.</summary>
    public static async Task<string> Request(int port, byte[] request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        if (request.Length > 0) await socket.SendAsync(request, SocketFlags.None, timeout.Token);
        else socket.Shutdown(SocketShutdown.Send);
        var reply = new MemoryStream();
        var buf = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buf, SocketFlags.None, timeout.Token)) > 0) reply.Write(buf, 0, n);
        return Encoding.ASCII.GetString(reply.ToArray());
    }

    public static int ReplyPort(string reply)
    {
        var part = reply.Split(',').Single(p => p.StartsWith("port:", StringComparison.Ordinal));
        return int.Parse(part["port:".Length..]);
    }

    /// <summary>Sends <paramref name="size"/> random bytes through 127.0.0.1:port and checks the echo comes back intact.</summary>
    public static async Task EchoThrough(int port, int size)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        var send = stream.WriteAsync(payload, timeout.Token).AsTask();
        var back = new byte[size];
        var got = 0;
        while (got < size)
        {
            var n = await stream.ReadAsync(back.AsMemory(got), timeout.Token);
            Assert.True(n > 0, $"the tunnel closed after {got} of {size} bytes");
            got += n;
        }
        await send;
        Assert.Equal(payload, back);
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
