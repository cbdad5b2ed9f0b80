using System.Net;
using System.Net.Sockets;
using System.Text;
using HpcCampaign.Engine.Connector;
using HpcCampaign.Engine.Crypto;
using static HpcCampaign.Tests.Connector.ConnectorKit;

namespace HpcCampaign.Tests.Connector;

/// <summary>The connector against the real test sshd on loopback, with a TCP echo service as the remote data server.</summary>
public class CampaignConnectorTests
{
    [Fact]
    public async Task RunServiceStartsTheRemoteServiceAndTunnelsBytesBothWays()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        var hosts = "testhost:\n" + SshService("adios", EchoCommand(echo.Port)) + "alias: testhost\n";
        await using var c = Start(Options(dir, hosts));

        var reply = await c.Ask("/run_service?group=testhost&service=adios");
        Assert.Matches("^port:[0-9]+,cookie:0xabc,msg:no_error$", reply);
        var port = ReplyPort(reply);
        await EchoThrough(port, 1 << 20);
        await EchoThrough(port, 10);

        // the tunnel is reused, also through the alias
        Assert.Equal(reply, await c.Ask("/run_service?group=testhost&service=adios"));
        Assert.Equal(reply, await c.Ask("/run_service?group=alias&service=adios"));

        var tunnel = Assert.Single(c.Connector.Snapshot().Tunnels);
        Assert.Equal("Service", tunnel.Kind);
        Assert.Equal("testhost", tunnel.Group);
        Assert.Equal("adios", tunnel.Service);
        Assert.Equal(port, tunnel.LocalPort);
        Assert.Equal(echo.Port, tunnel.RemotePort);
        Assert.Equal(2, tunnel.TotalConnections);
        Assert.Equal((1 << 20) + 10, tunnel.BytesSent);
        Assert.Equal((1 << 20) + 10, tunnel.BytesReceived);
        Assert.Contains($"{TestEnv.SshUser}@{TestEnv.SshHost}:{TestEnv.SshPort}", tunnel.SshHost);
        Assert.DoesNotContain("0xabc", tunnel.ToString());
        // verbose lines per request, never the cookie
        Assert.Contains(c.Sink.VerboseMessages, m => m.Contains("/run_service?group=testhost&service=adios"));
        Assert.DoesNotContain(c.Sink.VerboseMessages, m => m.Contains("0xabc"));
        Assert.Empty(c.Sink.Errors);
    }

    [Fact]
    public async Task ConnectPortAndReverseForwardThroughTheSshServer()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", "true")));

        var reply = await c.Ask($"/connect_port?group=testhost&service=adios&dhost=127.0.0.1&dport={echo.Port}");
        Assert.Matches("^port:[0-9]+,msg:no_error$", reply);
        await EchoThrough(ReplyPort(reply), 100_000);

        var remotePort = FreePort();
        var reverse = await c.Ask($"/reverse?group=testhost&service=adios&dest_host=127.0.0.1&remote_port={remotePort}&dest_port={echo.Port}");
        Assert.Equal($"port:{remotePort},msg:no_error", reverse);
        // sshd listens on remotePort and sends the connection back through the connector to the echo service
        await EchoThrough(remotePort, 50_000);

        var tunnels = c.Connector.Snapshot().Tunnels;
        Assert.Equal(new[] { "Port", "Reverse" }, tunnels.Select(t => t.Kind).ToArray());
        Assert.Equal(50_000, tunnels[1].BytesSent);
        Assert.Equal(50_000, tunnels[1].BytesReceived);

        Assert.Equal("port:-1,msg:missing_destination_port_in_request", await c.Ask("/connect_port?group=testhost&service=adios&dhost=x"));
        Assert.Equal("port:-1,msg:missing_destination_host_in_request", await c.Ask("/connect_port?group=testhost&dport=1"));
        Assert.Equal("port:-1,msg:no_matching_group_or_service_in_config_file", await c.Ask("/connect_port?group=nope&service=adios&dhost=a&dport=1"));
        Assert.Equal("port:-1,msg:missing_remote_port_in_request", await c.Ask("/reverse?group=testhost&service=adios&dest_host=a"));
        Assert.Equal("port:-1,msg:missing_dest_host_in_request", await c.Ask("/reverse?group=testhost&service=adios"));
    }

    [Fact]
    public async Task GetKeyServesKnownIdsOnlyAndNeverLogsTheKey()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        var secret = Enumerable.Range(100, 32).Select(i => (byte)i).ToArray();
        KeyFile.Create(Path.Combine(keys, "protected.key"), "p", secret, "0123456789abcdef0123456789abcdef", DateTimeOffset.UtcNow,
            Encoding.UTF8.GetBytes("pw 1"), null, overwrite: false);
        File.WriteAllText(Path.Combine(keys, "notes.txt"), "not a key\n");
        await using var c = Start(Options(dir, ""), keyPassword: "pw 1");

        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await c.Ask($"/get_key?id={DemoKeyId}"));
        Assert.Equal($"key:{Convert.ToHexString(secret).ToLowerInvariant()},msg:no_error", await c.Ask("/get_key?id=0123456789abcdef0123456789abcdef"));
        Assert.Equal("key:0,msg:cannot_find_key_id", await c.Ask("/get_key?id=ffffffffffffffffffffffffffffffff"));
        Assert.Equal("key:0,msg:missing_key_id_in_request", await c.Ask("/get_key?ids=1"));

        Assert.Equal(new[] { "0123456789abcdef0123456789abcdef", DemoKeyId }, c.Connector.Snapshot().KeyIds);
        Assert.Contains(c.Sink.Warnings, w => w.Contains("notes.txt"));
        var everything = string.Join("\n", c.Sink.VerboseMessages.Concat(c.Sink.Warnings).Concat(c.Sink.Errors.Select(e => e.Message)));
        Assert.DoesNotContain(DemoKeyHex, everything);
        Assert.DoesNotContain(Convert.ToHexString(secret).ToLowerInvariant(), everything);
        Assert.Contains(c.Sink.VerboseMessages, m => m.Contains($"get_key?id={DemoKeyId} -> key served"));
    }

    [Fact]
    public async Task AProtectedKeyWithTheWrongPasswordIsSkippedWithAWarning()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        // the key PyNaCl protected with "correct horse" (Keys/Data): saves an Argon2i run here
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Keys", "Data", "pynacl-protected.key"), Path.Combine(keys, "protected.key"));
        await using var c = Start(Options(dir, ""), keyPassword: "wrong");
        Assert.Equal("key:0,msg:cannot_find_key_id", await c.Ask("/get_key?id=0123456789abcdef0123456789abcdef"));
        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await c.Ask($"/get_key?id={DemoKeyId}"));
        Assert.Contains(c.Sink.Warnings, w => w.Contains("protected.key") && w.Contains("does not unlock"));
    }

    [Fact]
    public async Task MalformedRequestsGetAnErrorReplyAndTheServiceGoesOn()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", "true")));
        var bad = new[]
        {
            Encoding.UTF8.GetBytes("hello"),
            Encoding.UTF8.GetBytes("/run_service"),
            Encoding.UTF8.GetBytes("/get_key?"),
            Encoding.UTF8.GetBytes("/delete_everything?x=1"),
            new byte[] { 0x2f, 0xff, 0xfe, 0x3f, 0x61, 0x3d, 0x31 },
            Enumerable.Repeat((byte)'x', 5000).ToArray(),
            new byte[] { 0, 0, 0 },
        };
        foreach (var request in bad)
            Assert.Equal("port:-1,msg:incorrect_request_format", await Request(c.Port, request));
        Assert.Equal("port:-1,msg:incorrect_request_format", await c.Ask("/run_service?group=testhost&service=adios&local_port=99999"));
        // a client that connects and sends nothing gets no reply and does not hurt
        Assert.Equal("", await Request(c.Port, Array.Empty<byte>()));
        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await c.Ask($"/get_key?id={DemoKeyId}"));
        var info = c.Connector.Snapshot();
        Assert.Equal("Running", info.State);
        Assert.Equal(bad.Length + 2, info.RequestCount);
        Assert.Equal(bad.Length + 1, info.FailedRequestCount);
    }

    [Fact]
    public async Task ConcurrentClientsAreServedWhileAnotherClientIsSilent()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        using var echo = new EchoServer();
        // a long read timeout: a sequential server would make every request below wait minutes behind the silent client
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", EchoCommand(echo.Port)), readTimeout: TimeSpan.FromMinutes(10)));
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await silent.ConnectAsync(IPAddress.Loopback, c.Port);

        var tasks = new List<Task<string>>();
        for (var i = 0; i < 40; i++)
        {
            tasks.Add(c.Ask($"/get_key?id={DemoKeyId}"));
            tasks.Add(c.Ask("garbage"));
            if (i % 10 == 0) tasks.Add(c.Ask("/run_service?group=testhost&service=adios"));
        }
        var replies = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(90));
        Assert.Equal(40, replies.Count(r => r == $"key:{DemoKeyHex},msg:no_error"));
        Assert.Equal(40, replies.Count(r => r == "port:-1,msg:incorrect_request_format"));
        var services = replies.Where(r => r.Contains("cookie")).ToList();
        Assert.Equal(4, services.Count);
        Assert.Single(services.Distinct());  // concurrent run_service for one service made one tunnel
        Assert.Single(c.Connector.Snapshot().Tunnels);
        await EchoThrough(ReplyPort(services[0]), 1000);
    }

    [Fact]
    public async Task ManyRequestsDoNotLeakSockets()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        await using var c = Start(Options(dir, "", logRequests: false));
        for (var round = 0; round < 20; round++)
            await Task.WhenAll(Enumerable.Range(0, 50).Select(i => c.Ask(i % 2 == 0 ? $"/get_key?id={DemoKeyId}" : "nonsense")));
        Assert.Equal(1000, c.Connector.Snapshot().RequestCount);
        // every server-side socket of the connector's port is closed: nothing left ESTABLISHED or CLOSE_WAIT
        // (a socket the server forgot to close would sit in CLOSE_WAIT forever)
        var open = ServerSockets(c.Port);
        for (var i = 0; i < 100 && open.Count > 0; i++)
        {
            await Task.Delay(50);
            open = ServerSockets(c.Port);
        }
        Assert.Empty(open);
    }

    /// <summary>States of TCP sockets whose local port is <paramref name="port"/>, except LISTEN, TIME_WAIT and FIN_WAIT2.</summary>
    private static List<string> ServerSockets(int port) =>
        File.ReadAllLines("/proc/net/tcp").Skip(1).Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => Convert.ToInt32(f[1].Split(':')[1], 16) == port && f[3] is not ("0A" or "06" or "05"))
            .Select(f => f[3]).ToList();

    [Fact]
    public async Task AHostKeyMismatchIsRefusedWithAClearReplyAndAnError()
    {
        var dir = TestEnv.NewTempDir();
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", EchoCommand(1)), knownHosts: TestEnv.SshKnownHostsMismatch));
        Assert.Equal("port:-1,msg:remote_host_key_mismatch", await c.Ask("/run_service?group=testhost&service=adios"));
        var error = Assert.Single(c.Sink.Errors);
        Assert.Equal("HostKeyMismatch", error.ErrorId);
        Assert.Equal(HpcErrorKind.PermissionDenied, error.Kind);
        Assert.Contains("does not match", error.Message);
        Assert.Empty(c.Connector.Snapshot().Tunnels);
    }

    [Fact]
    public async Task AnUnknownHostKeyIsRefusedNotAdded()
    {
        var dir = TestEnv.NewTempDir();
        var empty = Path.Combine(dir, "known_hosts");
        File.WriteAllText(empty, "");
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", EchoCommand(1)), knownHosts: empty));
        Assert.Equal("port:-1,msg:remote_host_key_unknown", await c.Ask("/run_service?group=testhost&service=adios"));
        Assert.Equal("HostKeyUnknown", Assert.Single(c.Sink.Errors).ErrorId);
        Assert.Equal("", File.ReadAllText(empty));
        // once the key is accepted (as `ssh` would record it), the running connector trusts it
        File.Copy(TestEnv.SshKnownHosts, empty, overwrite: true);
        Assert.Matches("^port:[0-9]+,cookie:0xabc,msg:no_error$", await c.Ask("/run_service?group=testhost&service=adios"));
    }

    [Fact]
    public async Task AWrongSshKeyGivesCannotConnect()
    {
        var dir = TestEnv.NewTempDir();
        await using var c = Start(Options(dir, "testhost:\n" + SshService("adios", EchoCommand(1), identity: TestEnv.SshWrongKey)));
        Assert.Equal("port:-1,msg:cannot_connect_to_remote_server", await c.Ask("/run_service?group=testhost&service=adios"));
        Assert.Equal("SshAuthenticationFailed", Assert.Single(c.Sink.Errors).ErrorId);
        Assert.Equal("port:-1,msg:cannot_connect_to_remote_host_port", await c.Ask("/connect_port?group=testhost&service=adios&dhost=127.0.0.1&dport=1"));
    }

    [Fact]
    public async Task PublicKeyLoginsUseTheSshAgent()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        var hosts = "h:\n" + SshService("a", EchoCommand(echo.Port), identity: "");
        // unix socket paths are short (108 bytes): keep the agent's in /tmp
        var socket = Path.Combine(Path.GetTempPath(), $"hpcc-agent-{Guid.NewGuid():N}"[..24] + ".sock");
        using var agent = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("ssh-agent", $"-D -a {socket}")
        { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        try
        {
            for (var i = 0; i < 100 && !File.Exists(socket); i++) await Task.Delay(50);
            var addInfo = new System.Diagnostics.ProcessStartInfo("ssh-add", TestEnv.SshKey) { RedirectStandardError = true, UseShellExecute = false };
            addInfo.Environment["SSH_AUTH_SOCK"] = socket;
            using (var add = System.Diagnostics.Process.Start(addInfo)!)
            {
                Assert.True(add.WaitForExit(30_000));
                Assert.Equal(0, add.ExitCode);
            }
            await using (var c = Start(Options(dir, hosts) with { AgentSocket = socket }))
            {
                var reply = await c.Ask("/run_service?group=h&service=a");
                Assert.Matches("^port:[0-9]+,cookie:0xabc,msg:no_error$", reply);
                await EchoThrough(ReplyPort(reply), 10_000);
            }
            // the same service without the agent has no key the server accepts
            await using (var c = Start(Options(TestEnv.NewTempDir(), hosts) with { AgentSocket = null }))
                Assert.Equal("port:-1,msg:cannot_connect_to_remote_server", await c.Ask("/run_service?group=h&service=a"));
        }
        finally
        {
            agent.Kill();
            agent.WaitForExit(5000);
            File.Delete(socket);
        }
    }

    [Fact]
    public async Task PasswordServicesNeedACredentialAndAWrongOneIsRefused()
    {
        var dir = TestEnv.NewTempDir();
        var hosts = "h:\n  pw:\n    protocol: ssh\n" +
                    $"    host: {TestEnv.SshHost}\n    port: {TestEnv.SshPort}\n    user: {TestEnv.SshUser}\n" +
                    "    authentication: password\n    serverpath: 'echo port:1;msg:no_error'\n";
        await using (var c = Start(Options(dir, hosts)))
        {
            Assert.Equal("port:-1,msg:cannot_connect_to_remote_server", await c.Ask("/run_service?group=h&service=pw"));
            Assert.Equal("SshPasswordRequired", Assert.Single(c.Sink.Errors).ErrorId);
        }
        // the test sshd accepts keys only: a password login is refused, and the password never shows up in messages
        var withPassword = Options(TestEnv.NewTempDir(), hosts) with { SshUser = "someone", SshPassword = Encoding.UTF8.GetBytes("hunter2-secret") };
        await using (var c = Start(withPassword))
        {
            Assert.Equal("port:-1,msg:cannot_connect_to_remote_server", await c.Ask("/run_service?group=h&service=pw"));
            var error = Assert.Single(c.Sink.Errors);
            Assert.Equal("SshAuthenticationFailed", error.ErrorId);
            Assert.Equal(HpcErrorKind.AuthenticationError, error.Kind);
            Assert.DoesNotContain("hunter2", error.Message + string.Join("", c.Sink.VerboseMessages));
        }
    }

    [Fact]
    public async Task BadServiceDefinitionsAndRemoteFailuresGetTheSpecTokens()
    {
        var dir = TestEnv.NewTempDir();
        var hosts = "h:\n" +
                    SshService("garbage", "echo server started") +
                    SshService("busy", "echo 'port:1;msg:too_many_clients'") +
                    SshService("silent", "exit 3") +
                    "  s3:\n    protocol: s3\n    endpoint: http://x\n" +
                    "  nopath:\n    protocol: ssh\n    host: 127.0.0.1\n    authentication: publickey\n" +
                    "  x509:\n    protocol: ssh\n    host: 127.0.0.1\n    authentication: x509\n    serverpath: x\n" +
                    "local: local\n";
        await using var c = Start(Options(dir, hosts));
        Assert.Equal("port:-1,msg:missing_group_in_request", await c.Ask("/run_service?service=a"));
        Assert.Equal("port:-1,msg:missing_service_in_request", await c.Ask("/run_service?group=h"));
        Assert.Equal("port:-1,msg:no_matching_group_or_service_in_config_file", await c.Ask("/run_service?group=nope&service=a"));
        Assert.Equal("port:-1,msg:no_matching_group_or_service_in_config_file", await c.Ask("/run_service?group=h&service=nope"));
        Assert.Equal("port:-1,msg:no_matching_group_or_service_in_config_file", await c.Ask("/run_service?group=local&service=a"));
        Assert.Equal("port:-1,msg:unsupported_protocol", await c.Ask("/run_service?group=h&service=s3"));
        Assert.Equal("port:-1,msg:incomplete_service_definition", await c.Ask("/run_service?group=h&service=nopath"));
        Assert.Equal("port:-1,msg:unsupported_authication_method", await c.Ask("/run_service?group=h&service=x509"));
        Assert.Equal("port:-1,msg:cannot_find_service_port_on_remote", await c.Ask("/run_service?group=h&service=garbage"));
        Assert.Equal("port:-1,msg:service_not_available", await c.Ask("/run_service?group=h&service=busy"));
        Assert.Equal("port:-1,msg:cannot_find_service_port_on_remote", await c.Ask("/run_service?group=h&service=silent"));
        Assert.Equal(new[] { "RemoteServiceOutputInvalid", "RemoteServiceFailed", "RemoteServiceOutputInvalid" }, c.Sink.Errors.Select(e => e.ErrorId).ToArray());
        Assert.Contains("too_many_clients", c.Sink.Errors[1].Message);
        Assert.Empty(c.Connector.Snapshot().Tunnels);
    }

    [Fact]
    public async Task LocalPortsFollowTheRequestOrTheFirstFreeFromTheBase()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        var hosts = "h:\n" + SshService("a", EchoCommand(echo.Port)) + SshService("b", EchoCommand(echo.Port)) + SshService("c", EchoCommand(echo.Port));
        var options = Options(dir, hosts);
        using var taken = new TcpListener(IPAddress.Loopback, options.FirstLocalPort);
        taken.Start();
        await using var c = Start(options);
        Assert.Equal($"port:{options.FirstLocalPort},msg:requested_port_is_not_available",
            await c.Ask($"/run_service?group=h&service=a&local_port={options.FirstLocalPort}"));
        var free = FreePort();
        Assert.Equal($"port:{free},cookie:0xabc,msg:no_error", await c.Ask($"/run_service?group=h&service=b&local_port={free}"));
        // first free port from the base: the base itself is taken
        Assert.Equal($"port:{options.FirstLocalPort + 1},cookie:0xabc,msg:no_error", await c.Ask("/run_service?group=h&service=c"));
        await EchoThrough(options.FirstLocalPort + 1, 1000);
    }

    [Fact]
    public async Task ATransientTunnelClosesAfterItsFirstConnection()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        await using var c = Start(Options(dir, "h:\n" + SshService("t", EchoCommand(echo.Port), extra: "    tunneltype: transient\n")));
        var port = ReplyPort(await c.Ask("/run_service?group=h&service=t"));
        Assert.True(Assert.Single(c.Connector.Snapshot().Tunnels).IsTransient);

        using (var first = new TcpClient())
        {
            await first.ConnectAsync(IPAddress.Loopback, port);
            var stream = first.GetStream();
            await RoundTrip(stream, "one");
            // it takes no second connection: a new request gets a new tunnel (its listener is closed, so the
            // port number may come round again), and the first connection goes on
            var port2 = ReplyPort(await c.Ask("/run_service?group=h&service=t"));
            Assert.Equal(2, c.Connector.Snapshot().Tunnels.Count);
            await RoundTrip(stream, "two");
            await EchoThrough(port2, 100);
        }
        for (var i = 0; i < 100 && c.Connector.Snapshot().Tunnels.Count > 0; i++) await Task.Delay(50);
        Assert.Empty(c.Connector.Snapshot().Tunnels);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.ThrowsAny<SocketException>(() => probe.Connect(IPAddress.Loopback, port));
    }

    private static async Task RoundTrip(NetworkStream stream, string text)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var bytes = Encoding.ASCII.GetBytes(text);
        await stream.WriteAsync(bytes, timeout.Token);
        var back = new byte[bytes.Length];
        await stream.ReadExactlyAsync(back, timeout.Token);
        Assert.Equal(text, Encoding.ASCII.GetString(back));
    }

    [Fact]
    public async Task AJumpHostCarriesTheSessionAndTheTargetKeyIsStillChecked()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoServer();
        var jump = $"    jumphost: '{TestEnv.SshHost}:{TestEnv.SshPort}'\n    jumpuser: {TestEnv.SshUser}\n    jumpidentity_file: '{TestEnv.SshKey}'\n";
        await using var c = Start(Options(dir, "h:\n" + SshService("j", EchoCommand(echo.Port), extra: jump)));
        var reply = await c.Ask("/run_service?group=h&service=j");
        Assert.Matches("^port:[0-9]+,cookie:0xabc,msg:no_error$", reply);
        await EchoThrough(ReplyPort(reply), 20_000);
        Assert.Contains(" via ", Assert.Single(c.Connector.Snapshot().Tunnels).SshHost);
    }

    [Fact]
    public async Task StartStopRegistersWritesAStateFileWithoutSecretsAndFreesThePorts()
    {
        var dir = TestEnv.NewTempDir();
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(DemoKeyFile, Path.Combine(keys, "demo.key"));
        using var echo = new EchoServer();
        var options = Options(dir, "h:\n" + SshService("a", EchoCommand(echo.Port)));
        var c = Start(options);
        var port = c.Port;
        Assert.Same(c.Connector, ConnectorRegistry.Find(port));
        var stateFile = ConnectorRegistry.StateFile(options.StateDirectory, port);
        var state = File.ReadAllText(stateFile);
        Assert.Contains($"\"port\": {port}", state);
        Assert.Contains($"\"processId\": {Environment.ProcessId}", state);
        Assert.DoesNotContain(DemoKeyHex, state);
        Assert.DoesNotContain(DemoKeyId, state);
        Assert.Empty(ConnectorRegistry.OtherProcesses(options.StateDirectory));  // it is ours, not another process's

        var ex = Assert.Throws<HpcException>(() => CampaignConnector.Start(options with { Port = port }, default, NullSink.Instance));
        Assert.Equal("ConnectorAlreadyRunning", ex.ErrorId);

        var tunnelPort = ReplyPort(await c.Ask("/run_service?group=h&service=a"));
        await c.Connector.StopAsync();
        await c.Run.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(c.Connector.IsRunning);
        Assert.Null(ConnectorRegistry.Find(port));
        Assert.False(File.Exists(stateFile));
        Assert.Equal("Stopped", c.Connector.Snapshot().State);
        Assert.Empty(c.Connector.Snapshot().KeyIds);
        using (var again = new TcpListener(IPAddress.Loopback, port)) again.Start();
        using (var again = new TcpListener(IPAddress.Loopback, tunnelPort)) again.Start();
    }

    [Fact]
    public void APortInUseIsAClearError()
    {
        var dir = TestEnv.NewTempDir();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var options = Options(dir, "") with { Port = ((IPEndPoint)taken.LocalEndpoint).Port };
        var ex = Assert.Throws<HpcException>(() => CampaignConnector.Start(options, default, NullSink.Instance));
        Assert.Equal("ConnectorPortInUse", ex.ErrorId);
        Assert.Equal(HpcErrorKind.ResourceUnavailable, ex.Kind);
    }

    [Fact]
    public async Task TheServiceListensOnLoopbackOnly()
    {
        var dir = TestEnv.NewTempDir();
        await using var c = Start(Options(dir, ""));
        Assert.Equal("127.0.0.1", c.Connector.Snapshot().Address);
        var tcp = File.ReadAllLines("/proc/net/tcp").Skip(1).Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f[3] == "0A" && Convert.ToInt32(f[1].Split(':')[1], 16) == c.Port).Select(f => f[1].Split(':')[0]).ToList();
        Assert.Equal(new[] { "0100007F" }, tcp);  // 127.0.0.1, little-endian
    }
}
