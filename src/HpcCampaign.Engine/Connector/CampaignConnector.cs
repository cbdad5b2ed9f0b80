using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using HpcCampaign.Engine.Config;
using Renci.SshNet;
using Renci.SshNet.Common;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// The campaign connector (spec §6): a request/response service on 127.0.0.1:Port for ADIOS2. It opens SSH tunnels
/// to the hosts of hosts.yaml (starting the remote data server first for run_service) and serves decryption keys by
/// id. Every client is handled concurrently; a bad request gets an error reply and the service goes on.
/// </summary>
public sealed class CampaignConnector
{
    private static readonly Regex CookiePattern = new("cookie:[^,]*", RegexOptions.Compiled);
    private readonly ConnectorOptions _options;
    private readonly Socket _listener;
    private readonly KeyStore _keys;
    private readonly SshConnections _ssh;
    private readonly CancellationTokenSource _cts = new();
    private readonly ConcurrentDictionary<string, Tunnel> _tunnels = new(StringComparer.Ordinal);
    // transient tunnels replaced while their one connection still runs; disposed when it ends
    private readonly ConcurrentDictionary<Tunnel, byte> _retired = new();
    private readonly ConcurrentDictionary<string, Lazy<SemaphoreSlim>> _tunnelLocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, Task> _inFlight = new();
    private readonly SemaphoreSlim _concurrency;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _hostsGate = new();
    private HostsConfig? _hosts;
    private DateTime _hostsStamp;
    private volatile IHpcSink _sink;
    private Task _acceptLoop = Task.CompletedTask;
    private long _requestId;
    private long _requests;
    private long _failedRequests;
    private int _stopping;

    private CampaignConnector(ConnectorOptions options, Socket listener, KeyStore keys, IHpcSink sink)
    {
        _options = options;
        _listener = listener;
        _keys = keys;
        _ssh = new SshConnections(options.KnownHostsFiles, options.SshUser, options.SshPassword, options.ConnectTimeout, options.AgentSocket);
        _concurrency = new SemaphoreSlim(options.MaxConcurrentRequests);
        _sink = sink;
        Port = ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    public int Port { get; }
    public DateTimeOffset StartTime { get; } = DateTimeOffset.UtcNow;
    public ConnectorOptions Options => _options;
    public bool IsRunning => Volatile.Read(ref _stopping) == 0;
    /// <summary>Completes when the connector has stopped and released everything.</summary>
    public Task Completion => _stopped.Task;

    /// <summary>
    /// Binds 127.0.0.1:Port, reads hosts.yaml, loads and unlocks the keys, registers the connector (in this process and
    /// in a state file). It serves requests once <see cref="RunAsync"/> is called. Throws ConnectorPortInUse,
    /// InvalidHostsFile, ConnectorAlreadyRunning.
    /// </summary>
    public static CampaignConnector Start(ConnectorOptions options, ReadOnlySpan<byte> keyPassword, IHpcSink sink)
    {
        if (ConnectorRegistry.Find(options.Port) is not null)
            throw new HpcException("ConnectorAlreadyRunning", HpcErrorKind.ResourceExists,
                $"A campaign connector already runs on 127.0.0.1:{options.Port} in this session.", options.Port);
        var hosts = HostsConfig.Load(options.HostsFile);
        Socket listener;
        try
        {
            listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                // loopback only: the original listened on every interface, which let anyone on the network use the tunnels and fetch keys
                listener.Bind(new IPEndPoint(IPAddress.Loopback, options.Port));
                listener.Listen(512);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        }
        catch (SocketException ex)
        {
            var other = ConnectorRegistry.OtherProcesses(options.StateDirectory).FirstOrDefault(c => c.Port == options.Port);
            throw new HpcException("ConnectorPortInUse", HpcErrorKind.ResourceUnavailable,
                other is not null
                    ? $"Port {options.Port} on 127.0.0.1 is used by a campaign connector in process {other.ProcessId} (started {other.StartTime:u})."
                    : $"Port {options.Port} on 127.0.0.1 is in use ({ex.SocketErrorCode}).", options.Port, ex)
            { RecommendedAction = "Stop the other connector, or give -Port (ADIOS2 expects 30000)." };
        }
        KeyStore? keys = null;
        try
        {
            keys = KeyStore.Load(options.KeysDirectory, keyPassword, sink);
            var connector = new CampaignConnector(options, listener, keys, sink);
            connector._hosts = hosts;
            connector._hostsStamp = File.Exists(options.HostsFile) ? File.GetLastWriteTimeUtc(options.HostsFile) : default;
            ConnectorRegistry.Register(connector);
            if (!options.KnownHostsFiles.Any(File.Exists) && hosts.Hosts.Any(h => h.Services.Any(s => s.Protocol is "ssh" or "ssh_tunnel")))
                sink.Warning($"No known_hosts file found ({string.Join(", ", options.KnownHostsFiles)}): every SSH host will be refused.");
            return connector;
        }
        catch
        {
            keys?.Dispose();
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Serves requests until <paramref name="ct"/> is cancelled or <see cref="StopAsync"/> is called; then cleans up.</summary>
    public async Task RunAsync(IHpcSink sink, CancellationToken ct)
    {
        _sink = sink;
        if (IsRunning && _acceptLoop.IsCompleted) _acceptLoop = AcceptLoopAsync(_cts.Token);
        using (ct.Register(() => _ = StopAsync()))
            await _stopped.Task.ConfigureAwait(false);
    }

    /// <summary>Stops listening, closes every tunnel and SSH session, clears the keys and removes the state file.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            _cts.Cancel();
            try { _listener.Close(); } catch (SocketException) { }
            try { await _acceptLoop.ConfigureAwait(false); } catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
            await Task.WhenAny(Task.WhenAll(_inFlight.Values), Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
            foreach (var tunnel in _tunnels.Values.Concat(_retired.Keys).ToList()) await tunnel.DisposeAsync().ConfigureAwait(false);
            _tunnels.Clear();
            _retired.Clear();
            _ssh.Dispose();
            _keys.Dispose();
        }
        finally
        {
            ConnectorRegistry.Unregister(this);
            _sink.Verbose($"Campaign connector on 127.0.0.1:{Port} stopped.");
            _stopped.TrySetResult();
        }
    }

    public CampaignConnectorInfo Snapshot() => new("127.0.0.1", Port, Environment.ProcessId, StartTime, true,
        IsRunning ? "Running" : "Stopped", _options.HostsFile, _options.KeysDirectory, _keys.Ids,
        _tunnels.Values.Concat(_retired.Keys).Where(t => t.IsAlive).OrderBy(t => t.Created).Select(t => t.ToInfo()).ToList(),
        Interlocked.Read(ref _requests), Interlocked.Read(ref _failedRequests));

    // ---- serving ------------------------------------------------------------------------------------------------

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        await Task.Yield();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _concurrency.WaitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                _concurrency.Release();
                if (ct.IsCancellationRequested || ex is ObjectDisposedException) return;
                continue;  // a client that went away between SYN and accept
            }
            var id = Interlocked.Increment(ref _requestId);
            var task = HandleClientAsync(id, client, ct);
            _inFlight[id] = task;
            _ = task.ContinueWith(_ =>
            {
                _inFlight.TryRemove(id, out Task? _);
                _concurrency.Release();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task HandleClientAsync(long id, Socket client, CancellationToken ct)
    {
        await Task.Yield();
        var peer = client.RemoteEndPoint?.ToString() ?? "?";
        try
        {
            var buffer = new byte[ConnectorProtocol.MaxRequestBytes];
            int n;
            using (var readTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                readTimeout.CancelAfter(_options.RequestReadTimeout);
                n = await client.ReceiveAsync(buffer, SocketFlags.None, readTimeout.Token).ConfigureAwait(false);
                // the request is one short write; take whatever else already arrived, without waiting
                while (n > 0 && n < buffer.Length && client.Available > 0)
                {
                    var more = await client.ReceiveAsync(buffer.AsMemory(n), SocketFlags.None, readTimeout.Token).ConfigureAwait(false);
                    if (more == 0) break;
                    n += more;
                }
            }
            if (n == 0) return;
            Interlocked.Increment(ref _requests);
            var request = ConnectorProtocol.Parse(buffer.AsSpan(0, n));
            Outcome outcome;
            if (request is null)
            {
                outcome = Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "malformed request");
            }
            else
            {
                try
                {
                    outcome = await DispatchAsync(request, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // a bug must not take the service down: answer, report, go on
                    var error = Unexpected(ex);
                    _sink.Error(error);
                    outcome = Outcome.Fail(ConnectorProtocol.PortError("internal_error"), error.Message);
                }
            }
            if (outcome.Failed) Interlocked.Increment(ref _failedRequests);
            if (_options.LogRequests)
                _sink.Verbose($"connector {peer} #{id} {Describe(request)} -> {outcome.LogText ?? MaskCookie(outcome.Reply)}");
            var reply = Encoding.ASCII.GetBytes(outcome.Reply);
            using var sendTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            sendTimeout.CancelAfter(_options.RequestReadTimeout);
            var sent = 0;
            while (sent < reply.Length)
                sent += await client.SendAsync(reply.AsMemory(sent), SocketFlags.None, sendTimeout.Token).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // the client went away or sent nothing in time
        }
        finally
        {
            client.Dispose();
        }
    }

    private static string Describe(ConnectorRequest? request)
    {
        if (request is null) return "(malformed)";
        var sb = new StringBuilder("/").Append(request.Command);
        var first = true;
        foreach (var (k, v) in request.Query.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append(first ? '?' : '&').Append(k).Append('=').Append(v);
            first = false;
        }
        return sb.ToString();
    }

    private static string MaskCookie(string reply) => CookiePattern.Replace(reply, "cookie:***");

    private async Task<Outcome> DispatchAsync(ConnectorRequest request, CancellationToken ct) => request.Command switch
    {
        ConnectorProtocol.GetKey => GetKey(request),
        ConnectorProtocol.RunService => await RunServiceAsync(request, ct).ConfigureAwait(false),
        ConnectorProtocol.ConnectPort => await ConnectPortAsync(request, ct).ConfigureAwait(false),
        ConnectorProtocol.Reverse => await ReverseAsync(request, ct).ConfigureAwait(false),
        _ => Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "unknown command"),
    };

    // ---- get_key ------------------------------------------------------------------------------------------------

    private Outcome GetKey(ConnectorRequest request)
    {
        var id = request.Get("id");
        if (id is null) return Outcome.Fail(ConnectorProtocol.KeyError("missing_key_id_in_request"));
        return _keys.Contains(id)
            ? Outcome.Ok(_keys.Reply(id), "key served")
            : Outcome.Fail(ConnectorProtocol.KeyError("cannot_find_key_id"));
    }

    // ---- run_service --------------------------------------------------------------------------------------------

    private async Task<Outcome> RunServiceAsync(ConnectorRequest request, CancellationToken ct)
    {
        var groupName = request.Get("group");
        var serviceName = request.Get("service");
        if (groupName is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_group_in_request"));
        if (serviceName is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_service_in_request"));
        if (!TryParsePort(request.Get("local_port"), allowMissing: true, out var requestedPort))
            return Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "local_port is not a port number");
        var (host, service) = FindService(groupName, serviceName);
        if (host is null || service is null)
            return Outcome.Fail(ConnectorProtocol.PortError("no_matching_group_or_service_in_config_file"));
        var invalid = CheckSshService(service, needsServerPath: true);
        if (invalid is not null) return invalid;
        if (requestedPort is null && TryParsePort(service.Get("local_port"), allowMissing: true, out var configured)) requestedPort = configured;
        var endpoint = EndpointOf(service);
        var key = $"service|{host.Name}|{service.Name}";
        return await WithTunnelLockAsync(key, async () =>
        {
            if (ReuseTunnel(key) is { } existing) return Outcome.Ok(ConnectorProtocol.PortReply(existing.LocalPort, existing.Cookie));
            var listener = BindLocalPort(requestedPort, out var portFailure);
            if (listener is null) return portFailure!;
            SshCommand? command = null;
            try
            {
                var client = await ConnectAsync(endpoint, "cannot_connect_to_remote_server", ct).ConfigureAwait(false);
                var commandText = service.ServerPath! + (service.Get("args") is { Length: > 0 } args ? " " + args : "");
                (command, var remotePort, var cookie) = await StartRemoteServiceAsync(client, commandText, endpoint, ct).ConfigureAwait(false);
                var tunnel = OpenLocal(key, "Service", host.Name, service.Name, endpoint, client, listener, service.Host!, remotePort,
                    IsTransient(service), cookie, command);
                return Outcome.Ok(ConnectorProtocol.PortReply(tunnel.LocalPort, tunnel.Cookie));
            }
            catch (RequestFailure f)
            {
                listener.Dispose();
                command?.Dispose();
                return f.Outcome;
            }
        }, ct).ConfigureAwait(false);
    }

    private async Task<(SshCommand Command, int Port, string? Cookie)> StartRemoteServiceAsync(SshClient client, string commandText,
        SshEndpoint endpoint, CancellationToken ct)
    {
        SshCommand command;
        try
        {
            command = client.CreateCommand(commandText);
            command.BeginExecute();
        }
        catch (Exception ex) when (ex is SshException or SocketException or InvalidOperationException or ObjectDisposedException)
        {
            throw Failure(ConnectorProtocol.PortError("service_not_available"), new HpcException("RemoteServiceNotStarted",
                HpcErrorKind.ResourceUnavailable, $"Cannot start '{commandText}' on {endpoint.Label}: {ex.Message}", endpoint.Label, ex));
        }
        // the streams block until the service writes or exits: read on a worker, bounded by the start timeout
        var read = Task.Run(() => ReadFirstLine(command.OutputStream) ?? ReadFirstLine(command.ExtendedOutputStream), CancellationToken.None);
        var finished = await Task.WhenAny(read, Task.Delay(_options.ServiceStartTimeout, ct)).ConfigureAwait(false);
        if (finished != read)
        {
            command.Dispose();
            ct.ThrowIfCancellationRequested();
            throw Failure(ConnectorProtocol.PortError("cannot_find_service_port_on_remote"), new HpcException("RemoteServiceTimeout",
                HpcErrorKind.OperationTimeout, $"'{commandText}' on {endpoint.Label} printed no 'port:N;msg:...' line within {_options.ServiceStartTimeout.TotalSeconds:0} s.", endpoint.Label));
        }
        var line = await read.ConfigureAwait(false);
        if (!ConnectorProtocol.TryParseServiceLine(line, out var port, out var message, out var cookie) || port is < 1 or > 65535)
        {
            command.Dispose();
            throw Failure(ConnectorProtocol.PortError("cannot_find_service_port_on_remote"), new HpcException("RemoteServiceOutputInvalid",
                HpcErrorKind.InvalidData, $"'{commandText}' on {endpoint.Label} did not print 'port:N;msg:...;cookie:...' first (it printed: {Shorten(MaskCookie(line ?? "nothing"))}).", endpoint.Label));
        }
        if (message != "no_error")
        {
            command.Dispose();
            throw Failure(ConnectorProtocol.PortError("service_not_available"), new HpcException("RemoteServiceFailed",
                HpcErrorKind.ResourceUnavailable, $"'{commandText}' on {endpoint.Label} reported '{Shorten(message)}'.", endpoint.Label));
        }
        return (command, port, cookie);
    }

    private static string? ReadFirstLine(Stream stream)
    {
        try
        {
            var bytes = new List<byte>(128);
            var one = new byte[1];
            while (bytes.Count < 4096)
            {
                var n = stream.Read(one, 0, 1);
                if (n == 0) break;
                if (one[0] == (byte)'\n')
                {
                    if (bytes.Count == 0) continue;  // skip blank lines before the status line
                    break;
                }
                bytes.Add(one[0]);
            }
            var text = Encoding.UTF8.GetString(bytes.ToArray()).TrimEnd('\r');
            return text.Trim().Length == 0 ? null : text;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException or SshException)
        {
            return null;
        }
    }

    // ---- connect_port -------------------------------------------------------------------------------------------

    private async Task<Outcome> ConnectPortAsync(ConnectorRequest request, CancellationToken ct)
    {
        var destinationHost = request.Get("dhost");
        var destinationPortText = request.Get("dport");
        if (destinationHost is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_destination_host_in_request"));
        if (destinationPortText is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_destination_port_in_request"));
        if (!TryParsePort(destinationPortText, allowMissing: false, out var destinationPort) ||
            !TryParsePort(request.Get("local_port"), allowMissing: true, out var requestedPort))
            return Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "a port is not a number from 1 to 65535");

        SshEndpoint endpoint;
        string? groupName = null, serviceName = null;
        var transient = false;
        if (request.Get("rhost") is { } remoteHost)
        {
            // direct form: rhost[:port], ruser, jhost[:port], juser; public-key login with the default identities
            var (rh, rp) = SplitHostPort(remoteHost);
            if (rp is null) return Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "rhost port is not a number");
            SshEndpoint? jump = null;
            if (request.Get("jhost") is { } jumpHost)
            {
                var (jh, jp) = SplitHostPort(jumpHost);
                if (jp is null) return Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "jhost port is not a number");
                jump = new SshEndpoint(jh, jp.Value, request.Get("juser") ?? _ssh.DefaultUser, "publickey", null, null);
            }
            endpoint = new SshEndpoint(rh, rp.Value, request.Get("ruser") ?? _ssh.DefaultUser, "publickey", null, jump);
        }
        else
        {
            groupName = request.Get("group");
            serviceName = request.Get("service");
            var (host, service) = groupName is null || serviceName is null ? (null, null) : FindService(groupName, serviceName);
            if (host is null || service is null)
                return Outcome.Fail(ConnectorProtocol.PortError("no_matching_group_or_service_in_config_file"));
            var invalid = CheckSshService(service, needsServerPath: false);
            if (invalid is not null) return invalid;
            endpoint = EndpointOf(service);
            groupName = host.Name;
            transient = IsTransient(service);
        }
        var key = $"port|{endpoint.CacheKey}|{destinationHost}|{destinationPort}";
        return await WithTunnelLockAsync(key, async () =>
        {
            if (ReuseTunnel(key) is { } existing) return Outcome.Ok(ConnectorProtocol.PortReply(existing.LocalPort));
            var listener = BindLocalPort(requestedPort, out var portFailure);
            if (listener is null) return portFailure!;
            try
            {
                var client = await ConnectAsync(endpoint, "cannot_connect_to_remote_host_port", ct).ConfigureAwait(false);
                var tunnel = OpenLocal(key, "Port", groupName, serviceName, endpoint, client, listener, destinationHost, destinationPort!.Value,
                    transient, null, null);
                return Outcome.Ok(ConnectorProtocol.PortReply(tunnel.LocalPort));
            }
            catch (RequestFailure f)
            {
                listener.Dispose();
                return f.Outcome;
            }
        }, ct).ConfigureAwait(false);
    }

    // ---- reverse ------------------------------------------------------------------------------------------------

    private async Task<Outcome> ReverseAsync(ConnectorRequest request, CancellationToken ct)
    {
        var groupName = request.Get("group");
        var serviceName = request.Get("service");
        var destinationHost = request.Get("dest_host");
        if (groupName is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_group_in_request"));
        if (serviceName is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_service_in_request"));
        if (destinationHost is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_dest_host_in_request"));
        if (request.Get("remote_port") is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_remote_port_in_request"));
        if (request.Get("dest_port") is null) return Outcome.Fail(ConnectorProtocol.PortError("missing_dest_port_in_request"));
        if (!TryParsePort(request.Get("remote_port"), allowMissing: false, out var remotePort) ||
            !TryParsePort(request.Get("dest_port"), allowMissing: false, out var destinationPort))
            return Outcome.Fail(ConnectorProtocol.PortError(ConnectorProtocol.IncorrectRequestFormat), "a port is not a number from 1 to 65535");
        var (host, service) = FindService(groupName, serviceName);
        if (host is null || service is null)
            return Outcome.Fail(ConnectorProtocol.PortError("no_matching_group_or_service_in_config_file"));
        var invalid = CheckSshService(service, needsServerPath: false);
        if (invalid is not null) return invalid;
        var endpoint = EndpointOf(service);
        var key = $"reverse|{endpoint.CacheKey}|{remotePort}";
        return await WithTunnelLockAsync(key, async () =>
        {
            if (ReuseTunnel(key) is { } existing)
            {
                if (existing.DestinationHost == destinationHost && existing.LocalPort == destinationPort)
                    return Outcome.Ok(ConnectorProtocol.PortReply(existing.RemotePort));
                return Outcome.Fail(ConnectorProtocol.PortError(remotePort!.Value, "requested_port_is_not_available"), "remote port already forwarded elsewhere");
            }
            try
            {
                var client = await ConnectAsync(endpoint, "cannot_connect_to_remote_server", ct).ConfigureAwait(false);
                Tunnel tunnel;
                try
                {
                    tunnel = Tunnel.OpenReverse(key, host.Name, service.Name, endpoint.Label, client, remotePort!.Value, destinationHost, destinationPort!.Value);
                }
                catch (Exception ex) when (ex is SshException or SocketException or InvalidOperationException)
                {
                    throw Failure(ConnectorProtocol.PortError("cannot_start_forward_server"), new HpcException("ReverseForwardFailed",
                        HpcErrorKind.ResourceUnavailable, $"{endpoint.Label} refused to listen on port {remotePort}: {ex.Message}", endpoint.Label, ex));
                }
                _tunnels[key] = tunnel;
                return Outcome.Ok(ConnectorProtocol.PortReply(tunnel.RemotePort));
            }
            catch (RequestFailure f)
            {
                return f.Outcome;
            }
        }, ct).ConfigureAwait(false);
    }

    // ---- shared pieces ------------------------------------------------------------------------------------------

    private Tunnel OpenLocal(string key, string kind, string? group, string? service, SshEndpoint endpoint, SshClient client,
        Socket listener, string destinationHost, int destinationPort, bool transient, string? cookie, SshCommand? command)
    {
        Tunnel tunnel;
        try
        {
            tunnel = Tunnel.OpenLocal(key, kind, group, service, endpoint.Label, client, listener, destinationHost, destinationPort,
                transient, cookie, command);
        }
        catch (Exception ex) when (ex is SshException or SocketException or InvalidOperationException or ObjectDisposedException)
        {
            throw Failure(ConnectorProtocol.PortError("cannot_start_forward_server"), new HpcException("ForwardFailed",
                HpcErrorKind.ResourceUnavailable, $"Cannot forward to {destinationHost}:{destinationPort} through {endpoint.Label}: {ex.Message}", endpoint.Label, ex));
        }
        _tunnels[key] = tunnel;
        if (transient)
        {
            _ = tunnel.FirstConnectionDone.ContinueWith(async _ =>
            {
                _tunnels.TryRemove(new KeyValuePair<string, Tunnel>(key, tunnel));
                _retired.TryRemove(tunnel, out var _);
                await tunnel.DisposeAsync().ConfigureAwait(false);
            }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
        return tunnel;
    }

    private Tunnel? ReuseTunnel(string key)
    {
        if (!_tunnels.TryGetValue(key, out var tunnel)) return null;
        if (tunnel.CanAccept) return tunnel;
        if (_tunnels.TryRemove(new KeyValuePair<string, Tunnel>(key, tunnel)))
        {
            // a transient tunnel busy with its one connection keeps it; anything else that stopped accepting is dead
            if (tunnel.IsTransient && tunnel.IsAlive && !tunnel.FirstConnectionDone.IsCompleted)
            {
                _retired[tunnel] = 0;
                if (tunnel.FirstConnectionDone.IsCompleted) _retired.TryRemove(tunnel, out _);  // it ended meanwhile
            }
            else
            {
                _ = tunnel.DisposeAsync().AsTask();
            }
        }
        return null;
    }

    private async Task<Outcome> WithTunnelLockAsync(string key, Func<Task<Outcome>> body, CancellationToken ct)
    {
        var gate = _tunnelLocks.GetOrAdd(key, _ => new Lazy<SemaphoreSlim>(() => new SemaphoreSlim(1, 1))).Value;
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await body().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<SshClient> ConnectAsync(SshEndpoint endpoint, string failureToken, CancellationToken ct)
    {
        try
        {
            return await _ssh.GetAsync(endpoint, ct).ConfigureAwait(false);
        }
        catch (HpcException ex)
        {
            var token = ex.ErrorId switch
            {
                "HostKeyMismatch" => "remote_host_key_mismatch",
                "HostKeyUnknown" => "remote_host_key_unknown",
                "HostKeyRevoked" => "remote_host_key_revoked",
                "UnsupportedAuthentication" => "unsupported_authication_method",
                _ => failureToken,
            };
            throw Failure(ConnectorProtocol.PortError(token), ex);
        }
    }

    /// <summary>
    /// Binds the tunnel's public port: the requested one, else the first free one from FirstLocalPort up. Null plus a
    /// failure outcome when none is free.
    /// </summary>
    private Socket? BindLocalPort(int? requested, out Outcome? failure)
    {
        failure = null;
        if (requested is { } port)
        {
            try
            {
                return RelayListener.BindLoopback(port);
            }
            catch (SocketException)
            {
                failure = Outcome.Fail(ConnectorProtocol.PortError(port, "requested_port_is_not_available"));
                return null;
            }
        }
        for (var i = 0; i < _options.LocalPortAttempts; i++)
        {
            var candidate = _options.FirstLocalPort + i;
            if (candidate > 65535) break;
            if (candidate == Port) continue;
            try
            {
                return RelayListener.BindLoopback(candidate);
            }
            catch (SocketException)
            {
                // taken: try the next one
            }
        }
        failure = Outcome.Fail(ConnectorProtocol.PortError("cannot_find_local_port"));
        return null;
    }

    private (CampaignHostInfo? Host, CampaignHostService? Service) FindService(string group, string service)
    {
        HostsConfig hosts;
        try
        {
            hosts = CurrentHosts();
        }
        catch (HpcException ex)
        {
            _sink.Error(ex);
            return (null, null);
        }
        CampaignHostInfo? host;
        try
        {
            host = hosts.Resolve(group);
        }
        catch (HpcException ex)
        {
            _sink.Error(ex);
            return (null, null);
        }
        if (host is null || host.Kind != "Remote") return (host, null);
        return (host, host.Services.FirstOrDefault(s => s.Name == service));
    }

    /// <summary>hosts.yaml as of now: re-read when the file changed since the last request.</summary>
    private HostsConfig CurrentHosts()
    {
        lock (_hostsGate)
        {
            var stamp = File.Exists(_options.HostsFile) ? File.GetLastWriteTimeUtc(_options.HostsFile) : default;
            if (_hosts is null || stamp != _hostsStamp)
            {
                _hosts = HostsConfig.Load(_options.HostsFile);
                _hostsStamp = stamp;
            }
            return _hosts;
        }
    }

    private static Outcome? CheckSshService(CampaignHostService service, bool needsServerPath)
    {
        if (service.Protocol is not ("ssh" or "ssh_tunnel"))
            return Outcome.Fail(ConnectorProtocol.PortError("unsupported_protocol"));
        if (string.IsNullOrEmpty(service.Host) || string.IsNullOrEmpty(service.Authentication) ||
            (needsServerPath && string.IsNullOrEmpty(service.ServerPath)))
            return Outcome.Fail(ConnectorProtocol.PortError("incomplete_service_definition"));
        if (!SshEndpoint.SupportedAuthentication.Contains(service.Authentication))
            return Outcome.Fail(ConnectorProtocol.PortError("unsupported_authication_method"));
        if (service.Get("port") is { Length: > 0 } p && !TryParsePort(p, allowMissing: false, out _))
            return Outcome.Fail(ConnectorProtocol.PortError("incomplete_service_definition"), "port is not a port number");
        return null;
    }

    private SshEndpoint EndpointOf(CampaignHostService service)
    {
        var user = service.User is { Length: > 0 } u ? u : _ssh.DefaultUser;
        SshEndpoint? jump = null;
        if (service.Get("jumphost") is { Length: > 0 } jumpHost)
        {
            var (jh, jp) = SplitHostPort(jumpHost);
            var jumpIdentity = service.Get("jumpidentity_file");
            jump = new SshEndpoint(jh, jp ?? 22, service.Get("jumpuser") is { Length: > 0 } ju ? ju : user,
                jumpIdentity is { Length: > 0 } ? "publickey" : service.Authentication!, jumpIdentity is { Length: > 0 } ? jumpIdentity : service.Get("identity_file"), null);
        }
        return new SshEndpoint(service.Host!, service.Port ?? 22, user, service.Authentication!, service.Get("identity_file"), jump);
    }

    private static bool IsTransient(CampaignHostService service) =>
        string.Equals(service.Get("tunneltype"), "transient", StringComparison.OrdinalIgnoreCase);

    private static (string Host, int? Port) SplitHostPort(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || text.Count(c => c == ':') != 1) return (text, 22);
        return TryParsePort(text[(colon + 1)..], allowMissing: false, out var port) ? (text[..colon], port) : (text[..colon], null);
    }

    private static bool TryParsePort(string? text, bool allowMissing, out int? port)
    {
        port = null;
        if (string.IsNullOrEmpty(text)) return allowMissing;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535) return false;
        port = p;
        return true;
    }

    private static string Shorten(string s) => s.Length <= 200 ? s : s[..200] + "...";

    private RequestFailure Failure(string reply, HpcException report)
    {
        _sink.Error(report);
        return new RequestFailure(Outcome.Fail(reply, report.Message));
    }

    private static HpcException Unexpected(Exception ex) => ex as HpcException ??
        new HpcException("ConnectorRequestFailed", HpcErrorKind.NotSpecified, $"The connector failed on a request: {ex.GetType().Name}: {ex.Message}", null, ex);

    private sealed record Outcome(string Reply, bool Failed, string? LogText)
    {
        public static Outcome Ok(string reply, string? logText = null) => new(reply, false, logText);
        public static Outcome Fail(string reply, string? why = null) => new(reply, true, why is null ? null : $"{reply} ({why})");
    }

    private sealed class RequestFailure : Exception
    {
        public RequestFailure(Outcome outcome) : base(outcome.Reply) => Outcome = outcome;
        public Outcome Outcome { get; }
    }
}
