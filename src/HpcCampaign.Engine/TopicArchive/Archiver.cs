using System.Diagnostics;
using Confluent.Kafka;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>Options of one archiver run (Start-TopicArchive).</summary>
public sealed class ArchiverOptions
{
    public static readonly string[] DefaultVetoTopics = ["sys.heartbeat", "__consumer_offsets", "sys.heartbeat-cit"];
    public const string DefaultTestTopic = "cmb-s4-fabric-tests.housekeeping-test";

    public required KafkaSettings Kafka { get; init; }
    /// <summary>Named topics; null or empty = every readable topic minus <see cref="VetoTopics"/> and the test topic.</summary>
    public string[]? Topics { get; init; }
    public string[] VetoTopics { get; init; } = DefaultVetoTopics;
    public string TestTopic { get; init; } = DefaultTestTopic;
    /// <summary>Consumer group; default "{username}-hopstream" (or "hpcc-hopstream" without a credential).</summary>
    public string? GroupId { get; init; }
    /// <summary>Skip messages carrying a _test header, as hop's ignoretest does.</summary>
    public bool SkipTestMessages { get; init; } = true;
    public ArchiveLayout Layout { get; init; } = ArchiveLayout.Housekeeping;
    /// <summary>Parallel object writes per batch.</summary>
    public int StoreConcurrency { get; init; } = 8;
    public int BatchSize { get; init; } = 500;
    public long? MaxMessages { get; init; }
    public bool UntilEndOfStream { get; init; }
    public TimeSpan TopicRefreshInterval { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Wait for the group assignment and data for at most this long before giving up on -UntilEndOfStream.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public string EffectiveGroupId => GroupId ?? $"{Kafka.Credential?.Username ?? "hpcc"}-hopstream";
}

/// <summary>
/// The archiver (spec §1–§5): consume, annotate, dedupe, write objects (bounded parallel), index the batch in one
/// transaction, and only then store the offsets (enable.auto.offset.store=false); librdkafka commits stored offsets
/// periodically and on close. A crash anywhere re-delivers at most the unfinished batch, which dedupe recognises.
/// Store or index failures pause consumption and retry the same batch with backoff; no offset moves meanwhile.
/// </summary>
public sealed class Archiver
{
    private readonly ArchiverOptions _o;
    private readonly IArchiveStore _store;
    private readonly ArchiveIndex _index;
    private readonly IHpcSink _sink;
    private long _received, _archived, _duplicates, _skippedTest, _undecodable, _bytes;

    public Archiver(ArchiverOptions options, IArchiveStore store, ArchiveIndex index, IHpcSink sink)
    {
        _o = options;
        _store = store;
        _index = index;
        _sink = sink;
    }

    /// <summary>Readable topics minus the veto list and the test topic (spec §2), sorted.</summary>
    public static string[] ListTopics(KafkaSettings kafka, IEnumerable<string> veto, string testTopic)
    {
        using var admin = new AdminClientBuilder(kafka.ClientConfig()).Build();
        Metadata md;
        try { md = admin.GetMetadata(TimeSpan.FromSeconds(15)); }
        catch (KafkaException ex)
        {
            throw new HpcException("KafkaUnavailable", HpcErrorKind.ConnectionError, $"Cannot list topics on {kafka.Bootstrap}: {ex.Error.Reason}", kafka.Bootstrap, ex);
        }
        var vetoed = new HashSet<string>(veto) { testTopic };
        return md.Topics.Where(t => t.Error.Code == ErrorCode.NoError && !vetoed.Contains(t.Topic)).Select(t => t.Topic).OrderBy(t => t, StringComparer.Ordinal).ToArray();
    }

    internal ConsumerConfig ConsumerConfig()
    {
        var c = new ConsumerConfig(_o.Kafka.ClientConfig())
        {
            GroupId = _o.EffectiveGroupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = 1000,
            EnablePartitionEof = true,
            MaxPollIntervalMs = 86_400_000,   // a long store/index outage must not cost the group membership
            SessionTimeoutMs = 6000,   // a killed archiver's partitions move on quickly
            FetchWaitMaxMs = 100,
        };
        return c;
    }

    public async Task<TopicArchiveRunSummary> RunAsync(CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        string[] topics = _o.Topics is { Length: > 0 } named ? named : ListTopics(_o.Kafka, _o.VetoTopics, _o.TestTopic);
        if (topics.Length == 0)
            throw new HpcException("NoTopics", HpcErrorKind.ObjectNotFound, $"No topic to archive on {_o.Kafka.Bootstrap}.", _o.Kafka.Bootstrap);
        _sink.Verbose($"Archiving {topics.Length} topic(s) from {_o.Kafka.Bootstrap} as group '{_o.EffectiveGroupId}' into {_store.Location}, index {_index.Description}.");

        var assigned = new HashSet<TopicPartition>();
        var atEnd = new HashSet<TopicPartition>();
        using var consumer = new ConsumerBuilder<byte[], byte[]>(ConsumerConfig())
            .SetPartitionsAssignedHandler((_, ps) => { lock (assigned) foreach (var p in ps) assigned.Add(p); })
            .SetPartitionsRevokedHandler((_, ps) => { lock (assigned) foreach (var p in ps) { assigned.Remove(p.TopicPartition); atEnd.Remove(p.TopicPartition); } })
            .SetPartitionsLostHandler((_, ps) => { lock (assigned) foreach (var p in ps) { assigned.Remove(p.TopicPartition); atEnd.Remove(p.TopicPartition); } })
            .SetErrorHandler((_, e) => { if (e.IsFatal) _sink.Warning($"Kafka: {e.Reason}"); else _sink.Verbose($"Kafka: {e.Reason}"); })
            .SetLogHandler((_, m) => { if (m.Level <= SyslogLevel.Warning) _sink.Verbose($"librdkafka: {m.Message}"); })
            .Build();
        consumer.Subscribe(topics);
        var lastRefresh = Stopwatch.StartNew();
        var lastProgress = Stopwatch.StartNew();
        var sinceData = Stopwatch.StartNew();
        // One batch is stored and indexed while the next one is consumed. Batches are still processed one after the
        // other (dedupe of batch N+1 sees the rows of batch N), and a batch's offsets are stored only after it is done.
        Task? inflight = null;
        List<ConsumeResult<byte[], byte[]>>? inflightBatch = null;
        long consumed = 0;
        async Task DrainAsync()
        {
            if (inflight is null) return;
            var (task, done) = (inflight, inflightBatch!);
            inflight = null;
            inflightBatch = null;
            await task.ConfigureAwait(false);
            foreach (var r in done)
            {
                try { consumer.StoreOffset(r); }
                catch (KafkaException) { /* partition revoked meanwhile; its next owner re-reads, dedupe catches it */ }
            }
        }
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var batch = new List<ConsumeResult<byte[], byte[]>>(_o.BatchSize);
                var batchStart = Stopwatch.StartNew();
                while (batch.Count < _o.BatchSize && !ct.IsCancellationRequested)
                {
                    if (_o.MaxMessages is { } max && consumed + batch.Count >= max) break;
                    var wait = batch.Count == 0 ? 200 : Math.Max(0, 100 - (int)batchStart.ElapsedMilliseconds);
                    ConsumeResult<byte[], byte[]>? r;
                    try { r = consumer.Consume(wait); }
                    catch (ConsumeException ex) when (!ex.Error.IsFatal)
                    {
                        _sink.Verbose($"Kafka: {ex.Error.Reason}");
                        continue;
                    }
                    if (r is null)
                    {
                        if (batch.Count > 0 || batchStart.ElapsedMilliseconds > 200) break;
                        continue;
                    }
                    if (r.IsPartitionEOF)
                    {
                        lock (assigned) atEnd.Add(r.TopicPartition);
                        continue;
                    }
                    lock (assigned) atEnd.Remove(r.TopicPartition);
                    batch.Add(r);
                }
                if (batch.Count > 0)
                {
                    sinceData.Restart();
                    consumed += batch.Count;
                    await DrainAsync().ConfigureAwait(false);
                    inflightBatch = batch;
                    inflight = ProcessBatchWithRetryAsync(batch, ct);
                }
                else await DrainAsync().ConfigureAwait(false);
                if (lastProgress.ElapsedMilliseconds >= 1000)
                {
                    ReportProgress(sw, false);
                    lastProgress.Restart();
                }
                if (_o.MaxMessages is { } limit && consumed >= limit) break;
                if (_o.UntilEndOfStream)
                {
                    bool done;
                    lock (assigned) done = assigned.Count > 0 && assigned.All(atEnd.Contains);
                    if (done && inflight is null) break;
                    if (sinceData.Elapsed > _o.StartTimeout)
                        throw new HpcException("EndOfStreamTimeout", HpcErrorKind.OperationTimeout,
                            $"No data and no end of stream from {_o.Kafka.Bootstrap} within {_o.StartTimeout.TotalSeconds:0} s.", _o.Kafka.Bootstrap);
                }
                if (_o.Topics is not { Length: > 0 } && lastRefresh.Elapsed >= _o.TopicRefreshInterval)
                {
                    lastRefresh.Restart();
                    var now = ListTopics(_o.Kafka, _o.VetoTopics, _o.TestTopic);
                    if (!now.SequenceEqual(topics))
                    {
                        await DrainAsync().ConfigureAwait(false);
                        _sink.Verbose($"Topic list changed: {string.Join(",", now)}");
                        topics = now;
                        consumer.Subscribe(topics);
                    }
                }
            }
            await DrainAsync().ConfigureAwait(false);
        }
        finally
        {
            if (inflight is not null)
            {
                // leaving on an error or a stop: let the batch finish (it uses the store and the index), keep its
                // offsets only if it succeeded
                try
                {
                    inflight.Wait(CancellationToken.None);
                    foreach (var r in inflightBatch!)
                        try { consumer.StoreOffset(r); } catch (KafkaException) { }
                }
                catch (AggregateException) { }
            }
            try { consumer.Close(); } catch (KafkaException ex) { _sink.Warning($"Kafka close: {ex.Message}"); }
            ReportProgress(sw, true);
        }
        return new TopicArchiveRunSummary(topics, _received, _archived, _duplicates, _skippedTest, _undecodable, _bytes, sw.Elapsed,
            _store.Location, _index.Description);
    }

    private void ReportProgress(Stopwatch sw, bool completed)
    {
        var rate = sw.Elapsed.TotalSeconds > 0 ? _received / sw.Elapsed.TotalSeconds : 0;
        _sink.Progress(new HpcProgress(9, "Archiving topics",
            $"{_received} received, {_archived} archived, {_duplicates} duplicates, {_skippedTest} test skipped, {rate:0} msg/s") { Completed = completed });
    }

    private async Task ProcessBatchWithRetryAsync(List<ConsumeResult<byte[], byte[]>> batch, CancellationToken ct)
    {
        var messages = new List<TopicMessage>(batch.Count);
        foreach (var r in batch)
        {
            var headers = new List<KeyValuePair<string, byte[]?>>();
            if (r.Message.Headers is { } hs)
                foreach (var h in hs) headers.Add(new(h.Key, h.GetValueBytes()));
            messages.Add(new TopicMessage(r.Topic, r.Partition.Value, r.Offset.Value, r.Message.Timestamp.UnixTimestampMs,
                r.Message.Key, headers, r.Message.Value ?? Array.Empty<byte>()));
        }
        var backoff = _o.InitialBackoff;
        while (true)
        {
            try
            {
                var result = await ArchiveBatchAsync(messages, _store, _index, _o.Layout, _o.SkipTestMessages, _o.StoreConcurrency, _sink, ct).ConfigureAwait(false);
                _received += messages.Count;
                _archived += result.Archived;
                _duplicates += result.Duplicates;
                _skippedTest += result.SkippedTest;
                _undecodable += result.Undecodable;
                _bytes += result.Bytes;
                return;
            }
            catch (HpcException ex) when (ex.Kind == HpcErrorKind.ResourceUnavailable && !ct.IsCancellationRequested)
            {
                _sink.Warning($"{ex.Message} — pausing {backoff.TotalSeconds:0.#} s, then retrying the batch of {messages.Count} (no offset moves).");
                await Task.Delay(backoff, ct).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _o.MaxBackoff.Ticks));
            }
        }
    }

    public sealed record BatchResult(int Archived, int Duplicates, int SkippedTest, int Undecodable, long Bytes);

    /// <summary>
    /// Dedupes, stores and indexes a batch. Idempotent: running it again for the same messages stores the same keys and
    /// inserts nothing new. Throws HpcException (ResourceUnavailable) when the store or the index fails.
    /// </summary>
    public static async Task<BatchResult> ArchiveBatchAsync(IReadOnlyList<TopicMessage> messages, IArchiveStore store, ArchiveIndex index,
        ArchiveLayout layout, bool skipTest, int concurrency, IHpcSink sink, CancellationToken ct)
    {
        var skipped = 0;
        var work = new List<(TopicMessage M, MessageAnnotations A)>(messages.Count);
        foreach (var m in messages)
        {
            if (skipTest && m.HasHeader("_test")) { skipped++; continue; }
            work.Add((m, MessageAnnotations.Compute(m)));
        }
        var existingUuids = index.FindUuids(work.Where(w => w.A.IsClientUuid).Select(w => w.A.Uuid).Distinct().ToList());
        var existingContent = index.FindContent(work.Select(w => (w.M.Topic, w.M.Timestamp, (long)w.A.MessageCrc32)).Distinct().ToList());

        var seenUuid = new Dictionary<string, long>();
        var seenContent = new HashSet<(string, long, long)>();
        var toStore = new List<(TopicMessage M, MessageAnnotations A)>();
        var duplicates = 0;
        foreach (var (m, a0) in work)
        {
            var a = a0;
            var content = (m.Topic, m.Timestamp, (long)a.MessageCrc32);
            if (a.IsClientUuid)
            {
                long crc;
                var known = existingUuids.TryGetValue(a.Uuid, out crc) || seenUuid.TryGetValue(a.Uuid, out crc);
                if (known && crc == a.MessageCrc32) { duplicates++; continue; }
                if (known)
                {
                    // a client reused a uuid for different content: keep the message under a derived uuid (spec §5, AC rule)
                    sink.Warning($"uuid {a.Uuid} on {m.Topic} is already archived with different content; storing this message under a server uuid.");
                    a = new MessageAnnotations { Uuid = MessageAnnotations.InventedUuid(m.Topic, m.Timestamp, a.MessageCrc32), IsClientUuid = false,
                        MessageCrc32 = a.MessageCrc32, Format = a.Format, Undecodable = a.Undecodable };
                }
            }
            if (!a.IsClientUuid && (existingContent.Contains(content) || seenContent.Contains(content))) { duplicates++; continue; }
            if (!a.IsClientUuid) seenContent.Add(content);
            seenUuid[a.Uuid] = a.MessageCrc32;
            toStore.Add((m, a));
        }

        var rows = new IndexRow[toStore.Count];
        long bytes = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, toStore.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct },
            async (i, token) =>
            {
                var (m, a) = toStore[i];
                var bson = BsonLayout.Encode(m, a, layout);
                var key = ObjectKeys.For(m.Topic, m.Timestamp, a.Uuid);
                await store.PutAsync(key, bson, token).ConfigureAwait(false);
                Interlocked.Add(ref bytes, bson.Length);
                rows[i] = new IndexRow(0, m.Topic, m.Timestamp, a.Uuid, bson.Length, key, store.Location, Crc32.Compute(bson), a.IsClientUuid,
                    a.MessageCrc32, m.Partition, m.Offset, a.Undecodable);
            }).ConfigureAwait(false);
        await store.FlushAsync(ct).ConfigureAwait(false);   // objects durable before their rows, rows before offsets
        var inserted = index.InsertBatch(rows);
        var raced = rows.Length - inserted;
        var undecodable = rows.Count(r => r.Undecodable);
        if (undecodable > 0) sink.Warning($"{undecodable} undecodable message(s) archived raw and flagged (undecodable = true).");
        return new BatchResult(inserted, duplicates + raced, skipped, undecodable, bytes);
    }
}
