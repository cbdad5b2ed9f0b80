using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace HpcCampaign.Tests.Connector;

/// <summary>Start-/Get-/Stop-CampaignConnector in a real runspace, against the test sshd on loopback.</summary>
public class ConnectorCmdletTests
{
    private const string DemoKeyId = "9d137a56f6884765942bfd88a47063ab";
    private const string DemoKeyHex = "4f1b4d9c976a301f6e867f9881e5955cd737000a66ad755003c6ff0f157b89b5";

    /// <summary>A hosts.yaml whose service "echo" runs a command that reports the echo port, and a keys folder with the demo key.</summary>
    private static (string Hosts, string Keys) Setup(string dir, int echoPort)
    {
        var hosts = Path.Combine(dir, "hosts.yaml");
        File.WriteAllText(hosts,
            "testhost:\n  echo:\n    protocol: ssh\n" +
            $"    host: {TestEnv.SshHost}\n    port: {TestEnv.SshPort}\n    user: {TestEnv.SshUser}\n" +
            $"    authentication: publickey\n    identity_file: '{TestEnv.SshKey}'\n" +
            $"    serverpath: 'echo \"port:{echoPort};msg:no_error;cookie:0xabc\"'\n");
        var keys = Directory.CreateDirectory(Path.Combine(dir, "keys")).FullName;
        File.Copy(Path.Combine(TestEnv.Fixtures, "campaign", "demo.key"), Path.Combine(keys, "demo.key"));
        return (hosts, keys);
    }

    private static string StartArgs(int port, string hosts, string keys) =>
        $"-Port {port} -HostsFile '{hosts}' -KeysDirectory '{keys}' -KnownHostsFile '{TestEnv.SshKnownHosts}'";

    [Fact]
    public async Task StartAsJobGetShowsTunnelsAndKeyIdsStopEndsTheJob()
    {
        var dir = TestEnv.NewTempDir();
        using var echo = new EchoListener();
        var (hosts, keys) = Setup(dir, echo.Port);
        var port = FreePort();
        using var s = new PsSession();

        var started = s.Run($"$j = Start-CampaignConnector {StartArgs(port, hosts, keys)} -AsJob; $j");
        started.AssertNoErrors();
        var job = Assert.IsAssignableFrom<Job>(Assert.Single(started.Output).BaseObject);
        Assert.Equal(JobState.Running, job.JobStateInfo.State);
        Assert.Equal($"CampaignConnector-{port}", job.Name);

        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await Ask(port, $"/get_key?id={DemoKeyId}"));
        var reply = await Ask(port, "/run_service?group=testhost&service=echo");
        Assert.Matches("^port:[0-9]+,cookie:0xabc,msg:no_error$", reply);
        var tunnelPort = int.Parse(reply.Split(',')[0]["port:".Length..]);
        await EchoThrough(tunnelPort, 4096);

        var got = s.Run($"Get-CampaignConnector -Port {port}");
        got.AssertNoErrors();
        var info = Assert.Single(got.Output);
        Assert.Equal(port, info.Properties["Port"].Value);
        Assert.Equal("127.0.0.1", info.Properties["Address"].Value);
        Assert.Equal("Running", info.Properties["State"].Value);
        Assert.Equal(true, info.Properties["IsCurrentProcess"].Value);
        Assert.Equal(new[] { DemoKeyId }, ((IEnumerable<string>)info.Properties["KeyIds"].Value).ToArray());
        var tunnels = s.Run($"(Get-CampaignConnector -Port {port}).Tunnels | ForEach-Object {{ \"$($_.Kind) $($_.Group) $($_.LocalPort) $($_.RemotePort) $($_.BytesSent) $($_.BytesReceived)\" }}");
        Assert.Equal($"Service testhost {tunnelPort} {echo.Port} 4096 4096", Assert.Single(tunnels.Output).ToString());
        // nothing shown carries the key or the cookie
        Assert.DoesNotContain(info.Properties, p => p.Value?.ToString()?.Contains(DemoKeyHex) == true || p.Value?.ToString()?.Contains("0xabc") == true);

        // the table view renders
        s.Host.ClearText();
        s.Run($"Get-CampaignConnector -Port {port} | Out-Default").AssertNoErrors();
        Assert.Contains("State", s.Host.Text);
        Assert.Contains(port.ToString(), s.Host.Text);
        Assert.Contains(DemoKeyId, s.Host.Text);
        s.Host.ClearText();
        s.Run($"(Get-CampaignConnector -Port {port}).Tunnels | Out-Default").AssertNoErrors();
        Assert.Contains("Sent/Received", s.Host.Text);
        Assert.Contains("testhost/echo", s.Host.Text);
        Assert.Contains($"127.0.0.1:{echo.Port}", s.Host.Text);
        Assert.Contains("4096/4096", s.Host.Text);

        var whatIf = s.Run($"Stop-CampaignConnector -Port {port} -WhatIf");
        whatIf.AssertNoErrors();
        Assert.Equal(JobState.Running, job.JobStateInfo.State);
        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await Ask(port, $"/get_key?id={DemoKeyId}"));

        var stopped = s.Run($"Get-CampaignConnector -Port {port} | Stop-CampaignConnector -PassThru; Wait-Job $j -Timeout 30 | Out-Null; $j.State.ToString()");
        stopped.AssertNoErrors();
        Assert.Equal("Stopped", stopped.Output[0].Properties["State"].Value);
        Assert.Equal("Completed", stopped.Output[1].ToString());
        AssertPortFree(port);
        AssertPortFree(tunnelPort);

        var gone = s.Run($"Get-CampaignConnector -Port {port}");
        Assert.Empty(gone.Output);
        Assert.Equal("ConnectorNotFound,HpcCampaign.Commands.Connector.GetCampaignConnectorCommand", Assert.Single(gone.Errors).FullyQualifiedErrorId);
        // the job received the connector's snapshot first
        var received = s.Run("Receive-Job $j | Where-Object { $_.Port } | ForEach-Object { $_.Port }");
        Assert.Equal(port, Assert.Single(received.Output).BaseObject);
    }

    [Fact]
    public void StopJobStopsTheConnector()
    {
        var dir = TestEnv.NewTempDir();
        var (hosts, keys) = Setup(dir, 1);
        var port = FreePort();
        using var s = new PsSession();
        var r = s.Run($"$j = Start-CampaignConnector {StartArgs(port, hosts, keys)} -AsJob; Stop-Job $j; $j.State.ToString(); Get-CampaignConnector | Where-Object Port -eq {port}");
        r.AssertNoErrors();
        Assert.Equal("Stopped", Assert.Single(r.Output).ToString());
        AssertPortFree(port);
    }

    [Fact]
    public void WhatIfStartsNothing()
    {
        var dir = TestEnv.NewTempDir();
        var (hosts, keys) = Setup(dir, 1);
        var port = FreePort();
        using var s = new PsSession();
        var r = s.Run($"Start-CampaignConnector {StartArgs(port, hosts, keys)} -AsJob -WhatIf; (Get-Job | Where-Object Name -eq 'CampaignConnector-{port}').Count");
        r.AssertNoErrors();
        Assert.Equal(0, Assert.Single(r.Output).BaseObject);
        AssertPortFree(port);
        Assert.False(File.Exists(Path.Combine(TestSetup.ConfigDir, "state", $"connector-{port}.json")));
    }

    [Fact]
    public void ABusyPortOrAMissingFileIsAnErrorAndNoJob()
    {
        var dir = TestEnv.NewTempDir();
        var (hosts, keys) = Setup(dir, 1);
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var busy = ((IPEndPoint)taken.LocalEndpoint).Port;
        using var s = new PsSession();
        var r = s.Run($"Start-CampaignConnector {StartArgs(busy, hosts, keys)} -AsJob");
        Assert.Empty(r.Output);
        var error = Assert.Single(r.Errors);
        Assert.Equal("ConnectorPortInUse,HpcCampaign.Commands.Connector.StartCampaignConnectorCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);

        var missing = s.Run($"Start-CampaignConnector -Port {FreePort()} -HostsFile '{dir}/nope.yaml' -AsJob");
        Assert.Empty(missing.Output);
        Assert.Equal("HostsFileNotFound,HpcCampaign.Commands.Connector.StartCampaignConnectorCommand", Assert.Single(missing.Errors).FullyQualifiedErrorId);

        File.WriteAllText(Path.Combine(dir, "bad.yaml"), "a: [1, 2]\n");
        var bad = s.Run($"Start-CampaignConnector -Port {FreePort()} -HostsFile '{dir}/bad.yaml' -KeysDirectory '{keys}' -AsJob");
        Assert.Empty(bad.Output);
        Assert.Equal("InvalidHostsFile,HpcCampaign.Commands.Connector.StartCampaignConnectorCommand", Assert.Single(bad.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task AProtectedKeyIsUnlockedOnceFromThePromptAndServedByIdOnly()
    {
        var dir = TestEnv.NewTempDir();
        var (hosts, keys) = Setup(dir, 1);
        var port = FreePort();
        using var s = new PsSession();
        var made = s.Run($"New-CampaignKey -Path '{keys}/protected.key' -Password $pw -Note p", new Dictionary<string, object?> { ["pw"] = TestSetup.Secure("connector pw") });
        made.AssertNoErrors();
        var id = (string)made.Output[0].Properties["Id"].Value;

        s.Host.Answers.Enqueue("connector pw");
        var r = s.Run($"$j = Start-CampaignConnector {StartArgs(port, hosts, keys)} -AsJob");
        r.AssertNoErrors();
        Assert.Empty(s.Host.Answers);  // the prompt was asked (once)
        try
        {
            var reply = await Ask(port, $"/get_key?id={id}");
            Assert.Matches("^key:[0-9a-f]{64},msg:no_error$", reply);
            Assert.Equal("key:0,msg:cannot_find_key_id", await Ask(port, "/get_key?id=00000000000000000000000000000000"));
            var ids = s.Run($"(Get-CampaignConnector -Port {port}).KeyIds");
            Assert.Equal(new[] { id, DemoKeyId }.Order(), ids.Output.Select(o => o.ToString()).Order());
            Assert.DoesNotContain(reply[4..68], s.Host.Text);
        }
        finally
        {
            s.Run($"Stop-CampaignConnector -Port {port}").AssertNoErrors();
        }
    }

    [Fact]
    public async Task ForegroundRunsUntilStoppedAndWritesVerboseLinesWithoutSecrets()
    {
        var dir = TestEnv.NewTempDir();
        var (hosts, keys) = Setup(dir, 1);
        var port = FreePort();
        using var s = new PsSession();
        using var ps = PowerShell.Create();
        ps.Runspace = s.Runspace;
        ps.AddScript($"Start-CampaignConnector {StartArgs(port, hosts, keys)} -Verbose");
        var output = new PSDataCollection<PSObject>();
        var running = ps.BeginInvoke<PSObject, PSObject>(null, output);
        var up = false;
        for (var i = 0; i < 200 && !up; i++)
        {
            up = output.Count > 0;
            if (!up) await Task.Delay(50);
        }
        Assert.True(up, "the connector did not start");
        Assert.Equal($"key:{DemoKeyHex},msg:no_error", await Ask(port, $"/get_key?id={DemoKeyId}"));
        Assert.Equal("port:-1,msg:incorrect_request_format", await Ask(port, "rubbish"));
        Assert.Equal(PSInvocationState.Running, ps.InvocationStateInfo.State);
        // request lines reach the verbose stream when the pipeline thread drains the cmdlet's queue; a stop right after
        // the reply could otherwise come first (a CI run lost the last line that way), so give them a bounded moment
        int RequestLines() => Enumerable.Range(0, ps.Streams.Verbose.Count).Count(j => ps.Streams.Verbose[j].Message.Contains(" -> "));
        for (var i = 0; i < 200 && RequestLines() < 2; i++) await Task.Delay(50);

        await Task.Factory.FromAsync(ps.BeginStop(null, null), ps.EndStop).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        AssertPortFree(port);
        Assert.Equal(port, output[0].Properties["Port"].Value);
        var verbose = ps.Streams.Verbose.Select(v => v.Message).ToList();
        Assert.Contains(verbose, v => v.Contains($"/get_key?id={DemoKeyId} -> key served"));
        Assert.Contains(verbose, v => v.Contains("(malformed) -> port:-1,msg:incorrect_request_format"));
        Assert.DoesNotContain(verbose, v => v.Contains(DemoKeyHex));
        Assert.False(File.Exists(Path.Combine(TestSetup.ConfigDir, "state", $"connector-{port}.json")));
    }

    [Fact]
    public async Task PasswordHostsAreAskedForACredentialBeforeStart()
    {
        var dir = TestEnv.NewTempDir();
        var (_, keys) = Setup(dir, 1);
        var hosts = Path.Combine(dir, "pw-hosts.yaml");
        File.WriteAllText(hosts, "h:\n  pw:\n    protocol: ssh\n" +
            $"    host: {TestEnv.SshHost}\n    port: {TestEnv.SshPort}\n    user: {TestEnv.SshUser}\n" +
            "    authentication: passcode\n    serverpath: x\n");
        var port = FreePort();
        using var s = new PsSession();
        s.Host.Answers.Enqueue("one-time-123456");
        var r = s.Run($"$j = Start-CampaignConnector {StartArgs(port, hosts, keys)} -AsJob");
        r.AssertNoErrors();
        Assert.Empty(s.Host.Answers);  // the credential prompt took the passcode
        try
        {
            // the test sshd takes keys only, so the login fails; the reply and the error say so, without the passcode
            Assert.Equal("port:-1,msg:cannot_connect_to_remote_server", await Ask(port, "/run_service?group=h&service=pw"));
            var errors = s.Run("$j.Error | ForEach-Object { $_.FullyQualifiedErrorId + ' ' + $_.Exception.Message }");
            var error = Assert.Single(errors.Output).ToString();
            Assert.StartsWith("SshAuthenticationFailed,", error);
            Assert.DoesNotContain("123456", error);
        }
        finally
        {
            s.Run($"Stop-CampaignConnector -Port {port}").AssertNoErrors();
        }
    }

    [Fact]
    public void AConnectorOfAnotherProcessIsShownAsSuchAndCannotBeStoppedFromHere()
    {
        // a state file as another process would write it; PID 1 is always alive
        var port = FreePort();
        var state = Directory.CreateDirectory(Path.Combine(TestSetup.ConfigDir, "state")).FullName;
        var file = Path.Combine(state, $"connector-{port}.json");
        File.WriteAllText(file, $"{{ \"port\": {port}, \"processId\": 1, \"startTime\": \"2026-11-24T10:00:00+00:00\" }}");
        var stale = Path.Combine(state, $"connector-{port + 1}.json");
        File.WriteAllText(stale, $"{{ \"port\": {port + 1}, \"processId\": 2147483000, \"startTime\": \"2026-11-24T10:00:00+00:00\" }}");
        try
        {
            using var s = new PsSession();
            var r = s.Run($"Get-CampaignConnector -Port {port} -Verbose");
            r.AssertNoErrors();
            var info = Assert.Single(r.Output);
            Assert.Equal("RunningInOtherProcess", info.Properties["State"].Value);
            Assert.Equal(false, info.Properties["IsCurrentProcess"].Value);
            Assert.Equal(1, info.Properties["ProcessId"].Value);
            Assert.Contains(r.Verbose, v => v.Message.Contains("another process (1)"));

            var stop = s.Run($"Stop-CampaignConnector -Port {port}");
            Assert.Equal("ConnectorInOtherProcess,HpcCampaign.Commands.Connector.StopCampaignConnectorCommand", Assert.Single(stop.Errors).FullyQualifiedErrorId);
            Assert.True(File.Exists(file));

            var dead = s.Run($"Get-CampaignConnector -Port {port + 1}");
            Assert.Equal("ConnectorNotFound,HpcCampaign.Commands.Connector.GetCampaignConnectorCommand", Assert.Single(dead.Errors).FullyQualifiedErrorId);
        }
        finally
        {
            File.Delete(file);
            File.Delete(stale);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static void AssertPortFree(int port)
    {
        using var l = new TcpListener(IPAddress.Loopback, port);
        l.Start();
    }

    private static async Task<string> Ask(int port, string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, timeout.Token);
        var reply = new MemoryStream();
        var buf = new byte[4096];
        int n;
        while ((n = await socket.ReceiveAsync(buf, SocketFlags.None, timeout.Token)) > 0) reply.Write(buf, 0, n);
        return Encoding.ASCII.GetString(reply.ToArray());
    }

    private static async Task EchoThrough(int port, int size)
    {
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(payload, timeout.Token);
        var back = new byte[size];
        var got = 0;
        while (got < size)
        {
            var n = await stream.ReadAsync(back.AsMemory(got), timeout.Token);
            Assert.True(n > 0, "the tunnel closed early");
            got += n;
        }
        Assert.Equal(payload, back);
    }

    private sealed class EchoListener : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _cts = new();

        public EchoListener()
        {
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = Task.Run(async () =>
            {
                while (!_cts.IsCancellationRequested)
                {
                    TcpClient c;
                    try { c = await _listener.AcceptTcpClientAsync(_cts.Token); } catch (Exception) { return; }
                    _ = Task.Run(async () =>
                    {
                        using (c)
                        {
                            try { await c.GetStream().CopyToAsync(c.GetStream(), _cts.Token); } catch (Exception) { }
                        }
                    });
                }
            });
        }

        public int Port { get; }

        public void Dispose()
        {
            _cts.Cancel();
            _listener.Stop();
        }
    }
}
