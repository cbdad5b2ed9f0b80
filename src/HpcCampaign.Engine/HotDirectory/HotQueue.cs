using RabbitMQ.Client;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Where the watcher posts and the senders take work. Both implementations give the same semantics: messages are
/// durable once PublishAsync returns; a delivery stays owned by its sender until AckAsync (verified at the
/// destination), ReleaseAsync (back to the queue, no attempt counted) or FailAsync (retry after a back-off, or a
/// dead letter after the last attempt). Work moves in batches so that per-message commits do not bound the rate.
/// </summary>
public interface IHotQueue : IAsyncDisposable
{
    string Description { get; }
    bool Connected { get; }
    /// <summary>Summed seconds spent disconnected since start (for the status "msg" column).</summary>
    double DisconnectedSeconds { get; }
    Task StartAsync(int senders, CancellationToken ct);
    /// <summary>Posts the messages and applies their catalogue changes; all of them are durable when it returns.</summary>
    Task PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken ct);
    /// <summary>Up to <paramref name="max"/> deliveries: waits up to <paramref name="wait"/> for the first, then takes what is
    /// ready without waiting. Empty when nothing came.</summary>
    Task<IReadOnlyList<HotDelivery>> ReceiveAsync(int sender, int max, TimeSpan wait, CancellationToken ct);
    Task AckAsync(IReadOnlyList<HotDelivery> done);
    Task ReleaseAsync(IReadOnlyList<HotDelivery> deliveries);
    /// <summary>Counts a failed attempt; true when the message became a dead letter.</summary>
    Task<bool> FailAsync(HotDelivery d, string error);
    Task<long?> QueueDepthAsync(CancellationToken ct);
}

/// <summary>A message to post and what posting it does to the catalogue.</summary>
public sealed record OutgoingMessage(string RoutingKey, string Body, CatalogChange? Change);

public sealed class HotDelivery
{
    public required string Body { get; init; }
    public required string RoutingKey { get; init; }
    public int Attempts { get; init; }
    /// <summary>Row id in the work table (embedded queue or local retry), else null.</summary>
    public long? LocalId { get; init; }
    internal IChannel? Channel { get; init; }
    internal ulong DeliveryTag { get; init; }
    public DateTime ReceivedUtc { get; } = DateTime.UtcNow;
}

internal static class Backoff
{
    public static long NextAttemptMs(int attempts, double baseSeconds, double maxSeconds)
    {
        var seconds = Math.Min(maxSeconds, baseSeconds * Math.Pow(2, Math.Max(0, attempts - 1)));
        return DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)(seconds * 1000);
    }
}

/// <summary>The embedded default: the store's work table is the queue (same process, same lease/ack semantics).</summary>
public sealed class EmbeddedHotQueue : IHotQueue
{
    private readonly HotDirectoryStore _store;
    private readonly HotDirectorySettings _settings;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);

    public EmbeddedHotQueue(HotDirectoryStore store, HotDirectorySettings settings)
    {
        _store = store;
        _settings = settings;
    }

    public string Description => "embedded queue " + _store.DatabasePath;
    public bool Connected => true;
    public double DisconnectedSeconds => 0;

    public Task StartAsync(int senders, CancellationToken ct)
    {
        _store.ReleaseAllLeases();
        return Task.CompletedTask;
    }

    public Task PublishAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken ct)
    {
        _store.Enqueue(messages);
        _signal.Release(messages.Count);
        return Task.CompletedTask;
    }

    public async Task<IReadOnlyList<HotDelivery>> ReceiveAsync(int sender, int max, TimeSpan wait, CancellationToken ct)
    {
        var until = DateTime.UtcNow + wait;
        while (true)
        {
            var items = _store.Lease(max);
            if (items.Count > 0)
                return items.Select(item => new HotDelivery { Body = item.Body, RoutingKey = item.RoutingKey, Attempts = item.Attempts, LocalId = item.Id }).ToList();
            var left = until - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return Array.Empty<HotDelivery>();
            // wake on a publish, else poll (retries become due by time)
            await _signal.WaitAsync(left < TimeSpan.FromMilliseconds(250) ? left : TimeSpan.FromMilliseconds(250), ct).ConfigureAwait(false);
        }
    }

    public Task AckAsync(IReadOnlyList<HotDelivery> done)
    {
        _store.Complete(done.Select(d => d.LocalId!.Value));
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(IReadOnlyList<HotDelivery> deliveries)
    {
        _store.Release(deliveries.Select(d => d.LocalId!.Value), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
        return Task.CompletedTask;
    }

    public Task<bool> FailAsync(HotDelivery d, string error)
    {
        var attempts = d.Attempts + 1;
        var dead = attempts >= _settings.MaxAttempts;
        _store.Fail(d.LocalId!.Value, attempts, error, Backoff.NextAttemptMs(attempts, _settings.RetryBaseSeconds, _settings.RetryMaxSeconds), dead);
        return Task.FromResult(dead);
    }

    public Task<long?> QueueDepthAsync(CancellationToken ct)
    {
        var (ready, leased, _, _) = _store.Counts();
        return Task.FromResult<long?>(ready + leased);
    }

    public ValueTask DisposeAsync()
    {
        _signal.Dispose();
        return ValueTask.CompletedTask;
    }
}
