using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace HpcCampaign.Engine.Connector;

/// <summary>
/// A loopback listener that relays every accepted connection to a target and counts the bytes. Tunnels put it in
/// front of SSH.NET's forwarders so that Get-CampaignConnector can show traffic, and so that transient tunnels can
/// close after their first connection.
/// </summary>
internal sealed class RelayListener : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly Socket _listener;
    private readonly Func<CancellationToken, Task<Socket>> _connectTarget;
    private readonly bool _closeAfterFirstConnection;
    private readonly CancellationTokenSource _cts = new();
    private readonly ConcurrentDictionary<long, (Socket Client, Socket? Target)> _active = new();
    private readonly TaskCompletionSource _firstConnectionDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextId;
    private long _total;
    private long _bytesSent;
    private long _bytesReceived;
    private int _disposed;

    public RelayListener(Socket boundListener, Func<CancellationToken, Task<Socket>> connectTarget, bool closeAfterFirstConnection)
    {
        _listener = boundListener;
        _connectTarget = connectTarget;
        _closeAfterFirstConnection = closeAfterFirstConnection;
        Port = ((IPEndPoint)boundListener.LocalEndPoint!).Port;
    }

    public int Port { get; }
    public int ActiveConnections => _active.Count;
    public long TotalConnections => Interlocked.Read(ref _total);
    public long BytesSent => Interlocked.Read(ref _bytesSent);
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);
    /// <summary>Still taking new connections (a transient relay stops after its first).</summary>
    public bool IsAccepting => Volatile.Read(ref _disposed) == 0 && !_acceptLoop.IsCompleted;
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;
    /// <summary>Completes when a transient relay's first connection has ended.</summary>
    public Task FirstConnectionDone => _firstConnectionDone.Task;

    /// <summary>Binds a listening socket on 127.0.0.1:<paramref name="port"/> (0 = any free port); SocketException when taken.</summary>
    public static Socket BindLoopback(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // no SO_REUSEADDR: on Linux it would let us bind over a port another program is still closing
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(128);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Start() => _acceptLoop = AcceptLoopAsync(_cts.Token);

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (ct.IsCancellationRequested) return;
                if (ex is SocketException) continue;
                return;
            }
            Interlocked.Increment(ref _total);
            var id = Interlocked.Increment(ref _nextId);
            _ = RelayAsync(id, client, ct);
            if (_closeAfterFirstConnection)
            {
                // a transient tunnel serves one connection; stop accepting more
                try { _listener.Close(); } catch (SocketException) { }
                return;
            }
        }
    }

    private async Task RelayAsync(long id, Socket client, CancellationToken ct)
    {
        client.NoDelay = true;
        _active[id] = (client, null);
        Socket? target = null;
        try
        {
            target = await _connectTarget(ct).ConfigureAwait(false);
            target.NoDelay = true;
            _active[id] = (client, target);
            var up = PumpAsync(client, target, isUpstream: true, ct);
            var down = PumpAsync(target, client, isUpstream: false, ct);
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException or OperationCanceledException or HpcException)
        {
            // the peer went away or the tunnel is closing: the connection simply ends
        }
        finally
        {
            _active.TryRemove(id, out _);
            client.Dispose();
            target?.Dispose();
            if (_closeAfterFirstConnection) _firstConnectionDone.TrySetResult();
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool isUpstream, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer.AsMemory(0, BufferSize), SocketFlags.None, ct).ConfigureAwait(false);
                if (n == 0)
                {
                    try { to.Shutdown(SocketShutdown.Send); } catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
                    return;
                }
                var sent = 0;
                while (sent < n)
                    sent += await to.SendAsync(buffer.AsMemory(sent, n - sent), SocketFlags.None, ct).ConfigureAwait(false);
                if (isUpstream) Interlocked.Add(ref _bytesSent, n);
                else Interlocked.Add(ref _bytesReceived, n);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // one side failed: close both so the other pump ends too
            try { from.Dispose(); } catch (ObjectDisposedException) { }
            try { to.Dispose(); } catch (ObjectDisposedException) { }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _cts.Cancel();
        try { _listener.Close(); } catch (SocketException) { }
        foreach (var (client, target) in _active.Values)
        {
            try { client.Dispose(); } catch (ObjectDisposedException) { }
            try { target?.Dispose(); } catch (ObjectDisposedException) { }
        }
        try { await _acceptLoop.ConfigureAwait(false); } catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException) { }
        _firstConnectionDone.TrySetResult();
    }

    /// <summary>Opens a TCP connection to host:port (for targets reached directly).</summary>
    public static async Task<Socket> ConnectAsync(string host, int port, CancellationToken ct)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await socket.ConnectAsync(host, port, timeout.Token).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
