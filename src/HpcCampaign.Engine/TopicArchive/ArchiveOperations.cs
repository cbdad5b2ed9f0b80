using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Confluent.Kafka;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>The utilities of spec §6 as operations on one store + index: records, verify, status, dedupe, restore, test data.</summary>
public sealed class ArchiveOperations
{
    private readonly IArchiveStore _store;
    private readonly ArchiveIndex _index;

    public ArchiveOperations(IArchiveStore store, ArchiveIndex index)
    {
        _store = store;
        _index = index;
    }

    // ---- records -----------------------------------------------------------------------------------------------

    public async Task<TopicArchiveRecord> WithPayloadAsync(IndexRow row, CancellationToken ct)
    {
        var bson = await _store.GetAsync(row.Key, ct).ConfigureAwait(false)
                   ?? throw new HpcException("ObjectNotFound", HpcErrorKind.ObjectNotFound, $"The object '{row.Key}' of {row.Uuid} is missing from {_store.Location}.", row.Uuid);
        var s = BsonLayout.Decode(bson, row.Key);
        return new TopicArchiveRecord(row.Id, row.Topic, row.Timestamp, row.Uuid, row.Size, row.Key, row.Bucket, row.Crc32, row.IsClientUuid,
            row.MessageCrc32, row.Partition, row.Offset, row.Undecodable)
        {
            Format = s.Format,
            Value = s.Message.Value,
            MessageKey = s.Message.Key,
            Headers = s.Message.Headers.Select(h => new TopicArchiveHeader(h.Key, h.Value)).ToArray(),
        };
    }

    // ---- verify ------------------------------------------------------------------------------------------------

    /// <summary>
    /// index → store: every row's object exists and has the row's size (and, with <paramref name="deep"/>, its crc32);
    /// store → index: every object under the topic prefix has a row. Both directions are finished here (the original's
    /// store→index check was a stub).
    /// </summary>
    public async Task<(long Rows, long Objects)> VerifyAsync(string? topic, bool indexToStore, bool storeToIndex, bool deep, int? sample,
        int concurrency, IHpcSink sink, CancellationToken ct)
    {
        var rows = _index.RowsLike(topic ?? "%");
        long checkedRows = 0, checkedObjects = 0;
        if (indexToStore)
        {
            var subset = rows;
            if (sample is { } n && n < rows.Count)
                subset = rows.OrderBy(_ => RandomNumberGenerator.GetInt32(int.MaxValue)).Take(n).ToList();
            var done = 0;
            await Parallel.ForEachAsync(subset, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct }, async (row, token) =>
            {
                if (deep)
                {
                    var bson = await _store.GetAsync(row.Key, token).ConfigureAwait(false);
                    if (bson is null) sink.Output(new TopicArchiveIssue("MissingObject", row.Uuid, row.Topic, row.Key, $"Row {row.Id} points at an object that does not exist."));
                    else if (bson.Length != row.Size) sink.Output(new TopicArchiveIssue("SizeMismatch", row.Uuid, row.Topic, row.Key, $"Object has {bson.Length} bytes, the index says {row.Size}."));
                    else if (Crc32.Compute(bson) != row.Crc32) sink.Output(new TopicArchiveIssue("CrcMismatch", row.Uuid, row.Topic, row.Key, $"Object crc32 {Crc32.Compute(bson)} differs from the index ({row.Crc32})."));
                }
                else
                {
                    var size = await _store.SizeAsync(row.Key, token).ConfigureAwait(false);
                    if (size is null) sink.Output(new TopicArchiveIssue("MissingObject", row.Uuid, row.Topic, row.Key, $"Row {row.Id} points at an object that does not exist."));
                    else if (size != row.Size) sink.Output(new TopicArchiveIssue("SizeMismatch", row.Uuid, row.Topic, row.Key, $"Object has {size} bytes, the index says {row.Size}."));
                }
                var d = Interlocked.Increment(ref done);
                if (d % 500 == 0) sink.Progress(new HpcProgress(10, "Checking index → store", $"{d} of {subset.Count} rows") { PercentComplete = (int)(100L * d / subset.Count) });
            }).ConfigureAwait(false);
            checkedRows = subset.Count;
            sink.Progress(new HpcProgress(10, "Checking index → store", "done") { Completed = true });
        }
        if (storeToIndex)
        {
            var keys = new HashSet<string>(rows.Select(r => r.Key), StringComparer.Ordinal);
            await foreach (var (key, _) in _store.ListAsync(topic is null ? "" : topic + "/", ct).ConfigureAwait(false))
            {
                checkedObjects++;
                if (!keys.Contains(key))
                    sink.Output(new TopicArchiveIssue("UnindexedObject", UuidOfKey(key), TopicOfKey(key), key, "The object has no row in the index."));
            }
        }
        sink.Verbose($"Checked {checkedRows} row(s) and {checkedObjects} object(s).");
        return (checkedRows, checkedObjects);
    }

    private static string? UuidOfKey(string key)
    {
        var name = key[(key.LastIndexOf('/') + 1)..];
        return name.EndsWith(".bson", StringComparison.Ordinal) ? name[..^5] : null;
    }

    private static string? TopicOfKey(string key)
    {
        // {topic}/{Y}/{M}/{D}/{H}/{uuid}.bson: the topic is everything before the last five segments
        var parts = key.Split('/');
        return parts.Length >= 6 ? string.Join('/', parts[..^5]) : null;
    }

    // ---- status ------------------------------------------------------------------------------------------------

    public IEnumerable<TopicArchiveTopicStatus> Status(string window, DateTimeOffset now)
    {
        long? since = window switch
        {
            "Day" => now.AddDays(-1).ToUnixTimeMilliseconds(),
            "Hour" => now.AddHours(-1).ToUnixTimeMilliseconds(),
            _ => null,
        };
        static DateTime T(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime;
        var rows = _index.Status(since);
        foreach (var r in rows)
            yield return new TopicArchiveTopicStatus(r.Topic, window, r.Messages, r.Bytes, r.SampleUuid, T(r.Earliest), T(r.Latest), false);
        yield return new TopicArchiveTopicStatus("*", window, rows.Sum(r => r.Messages), rows.Sum(r => r.Bytes),
            rows.Count == 0 ? null : rows.Max(r => r.SampleUuid),
            rows.Count == 0 ? null : T(rows.Min(r => r.Earliest)), rows.Count == 0 ? null : T(rows.Max(r => r.Latest)), true);
    }

    // ---- duplicates --------------------------------------------------------------------------------------------

    public List<IndexRow> FindDuplicates() => _index.Duplicates();

    /// <summary>Deletes a duplicate row, then its object unless another row still points at the same key. Returns true if the object went.</summary>
    public async Task<bool> RemoveDuplicateAsync(IndexRow row, CancellationToken ct)
    {
        _index.DeleteRows([row.Id]);
        if (_index.CountKeyReferences(row.Key) > 0) return false;
        return await _store.DeleteAsync(row.Key, ct).ConfigureAwait(false);
    }

    // ---- restore -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Publishes the archived messages of a topic and time range to <paramref name="targetTopic"/> with their values,
    /// keys, headers and timestamps. Per-partition order is the original offset order; with
    /// <paramref name="preservePartition"/> each message goes to its original partition number (when the target has it),
    /// otherwise Kafka partitions by key. The producer is idempotent, so retries cannot reorder or duplicate.
    /// </summary>
    public async Task<TopicArchiveRestoreResult> RestoreAsync(KafkaSettings kafka, string sourceTopic, string targetTopic, long? fromMs, long? toMs,
        bool preservePartition, IHpcSink sink, CancellationToken ct)
    {
        var rows = _index.Query(new RecordQuery(Topic: sourceTopic, FromMs: fromMs, ToMs: toMs));
        var ordered = OrderForRestore(rows);
        var config = new ProducerConfig(kafka.ClientConfig()) { EnableIdempotence = true, Acks = Acks.All, LingerMs = 5, MessageTimeoutMs = 60000 };
        using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        int targetPartitions = 0;
        if (preservePartition)
        {
            using var admin = new DependentAdminClientBuilder(producer.Handle).Build();
            var md = admin.GetMetadata(targetTopic, TimeSpan.FromSeconds(15));
            targetPartitions = md.Topics.FirstOrDefault(t => t.Topic == targetTopic)?.Partitions.Count ?? 0;
        }
        var failures = new ConcurrentQueue<Error>();
        long bytes = 0, count = 0;
        foreach (var row in ordered)
        {
            ct.ThrowIfCancellationRequested();
            var bson = await _store.GetAsync(row.Key, ct).ConfigureAwait(false)
                       ?? throw new HpcException("ObjectNotFound", HpcErrorKind.ObjectNotFound, $"The object '{row.Key}' of {row.Uuid} is missing; run Test-TopicArchive.", row.Uuid);
            var s = BsonLayout.Decode(bson, row.Key).Message;
            var headers = new Headers();
            foreach (var (name, value) in s.Headers) headers.Add(name, value);
            var msg = new Message<byte[], byte[]> { Key = s.Key!, Value = s.Value, Headers = headers, Timestamp = new Timestamp(s.Timestamp, TimestampType.CreateTime) };
            var tp = preservePartition && row.Partition >= 0 && row.Partition < targetPartitions
                ? new TopicPartition(targetTopic, new Partition(row.Partition))
                : new TopicPartition(targetTopic, Partition.Any);
            while (true)
            {
                try
                {
                    producer.Produce(tp, msg, dr => { if (dr.Error.IsError) failures.Enqueue(dr.Error); });
                    break;
                }
                catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(100));
                }
            }
            bytes += s.Value.Length;
            if (++count % 1000 == 0) sink.Progress(new HpcProgress(11, $"Restoring {sourceTopic} to {targetTopic}", $"{count} of {ordered.Count}") { PercentComplete = (int)(100 * count / ordered.Count) });
        }
        var left = producer.Flush(TimeSpan.FromSeconds(60));
        if (left > 0 || !failures.IsEmpty)
            throw new HpcException("RestoreFailed", HpcErrorKind.ConnectionError,
                $"{(failures.TryPeek(out var e) ? e.Reason : $"{left} message(s) not delivered")} while restoring to '{targetTopic}'.", targetTopic);
        sink.Progress(new HpcProgress(11, $"Restoring {sourceTopic} to {targetTopic}", "done") { Completed = true });
        static DateTime? T(long? ms) => ms is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(ms.Value).UtcDateTime;
        return new TopicArchiveRestoreResult(sourceTopic, targetTopic, count, bytes, T(ordered.Count > 0 ? ordered.Min(r => r.Timestamp) : null),
            T(ordered.Count > 0 ? ordered.Max(r => r.Timestamp) : null));
    }

    /// <summary>Each source partition in offset order, merged across partitions by timestamp.</summary>
    internal static List<IndexRow> OrderForRestore(List<IndexRow> rows)
    {
        var queues = rows.GroupBy(r => r.Partition)
            .Select(g => new Queue<IndexRow>(g.Key >= 0 ? g.OrderBy(r => r.Offset).ThenBy(r => r.Id) : g.OrderBy(r => r.Timestamp).ThenBy(r => r.Id)))
            .ToList();
        var result = new List<IndexRow>(rows.Count);
        while (queues.Count > 0)
        {
            var next = queues.OrderBy(q => q.Peek().Timestamp).ThenBy(q => q.Peek().Id).First();
            result.Add(next.Dequeue());
            if (next.Count == 0) queues.Remove(next);
        }
        return result;
    }

    // ---- test messages -----------------------------------------------------------------------------------------

    /// <summary>The known test vectors of verify_api.get_known_data (spec §6), each with a fresh valid _id first.</summary>
    public static List<(string Case, TopicMessage Message)> KnownTestData(string topic)
    {
        var list = new List<(string, TopicMessage)>();
        void Add(string name, string format, byte[] value, params (string, byte[]?)[] extra)
        {
            var id = Guid.NewGuid().ToByteArray(bigEndian: true);
            id[6] = (byte)((id[6] & 0x0F) | 0x40);
            id[8] = (byte)((id[8] & 0x3F) | 0x80);
            var headers = new List<KeyValuePair<string, byte[]?>>
            {
                new("_id", id), new("_format", Encoding.UTF8.GetBytes(format)), new("_known_test_data", Encoding.UTF8.GetBytes(name)),
            };
            headers.AddRange(extra.Select(e => new KeyValuePair<string, byte[]?>(e.Item1, e.Item2)));
            list.Add((name, new TopicMessage(topic, -1, -1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), null, headers, value)));
        }
        static byte[] U(string s) => Encoding.UTF8.GetBytes(s);
        Add("empty_blob", "blob", []);
        Add("json_list", "json", U("[]"));
        Add("json_dict", "json", U("{}"));
        Add("large_blob", "blob", RandomNumberGenerator.GetBytes(750_000), ("payload_size", U("alot")));
        Add("many_headers", "blob", U("many headers"), ("dog", U("fido")), ("cat", U("fifi")));
        Add("repeated_key", "blob", U("repeated header key"), ("key", U("1")), ("key", U("2")), ("key", U("3")));
        Add("none_value", "blob", U("header value None"), ("nothing", null));
        Add("empty_value", "blob", U("empty header value"), ("empty", []));
        Add("invalid_ids", "blob", U("invalid _id headers"), ("_id", null), ("_id", U("text")), ("_id", []));
        Add("extra_ids", "blob", U("three extra valid _id headers"),
            ("_id", Guid.NewGuid().ToByteArray(true)), ("_id", Guid.NewGuid().ToByteArray(true)), ("_id", Guid.NewGuid().ToByteArray(true)));
        return list;
    }

    /// <summary>Publishes the known test vectors; returns them as sent (uuid = the first _id).</summary>
    public static List<(string Case, TopicMessage Message, string Uuid)> SendTestMessages(KafkaSettings kafka, string topic, CancellationToken ct)
    {
        var config = new ProducerConfig(kafka.ClientConfig()) { EnableIdempotence = true, Acks = Acks.All, MessageMaxBytes = 2_000_000 };
        using var producer = new ProducerBuilder<byte[], byte[]>(config).Build();
        var sent = new List<(string, TopicMessage, string)>();
        foreach (var (name, m) in KnownTestData(topic))
        {
            ct.ThrowIfCancellationRequested();
            var headers = new Headers();
            foreach (var (k, v) in m.Headers) headers.Add(k, v);
            try
            {
                var dr = producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = m.Value, Headers = headers, Timestamp = new Timestamp(m.Timestamp, TimestampType.CreateTime) }, ct)
                    .GetAwaiter().GetResult();
                var stamped = new TopicMessage(topic, dr.Partition.Value, dr.Offset.Value, m.Timestamp, null, m.Headers, m.Value);
                sent.Add((name, stamped, MessageAnnotations.FormatUuid(m.Headers[0].Value!)));
            }
            catch (ProduceException<byte[], byte[]> ex)
            {
                throw new HpcException("PublishFailed", HpcErrorKind.ConnectionError, $"Cannot publish test message '{name}' to '{topic}': {ex.Error.Reason}", topic, ex);
            }
        }
        return sent;
    }

    /// <summary>Compares a sent message with what the archive holds (value, key and headers byte for byte).</summary>
    public async Task<(string Status, string Message)> CompareAsync(TopicMessage sent, string uuid, CancellationToken ct)
    {
        var row = _index.Query(new RecordQuery(Uuids: [uuid])).FirstOrDefault();
        if (row is null) return ("Missing", "Not in the index (is the archiver running on this topic?).");
        var bson = await _store.GetAsync(row.Key, ct).ConfigureAwait(false);
        if (bson is null) return ("Mismatch", $"Indexed, but the object '{row.Key}' is missing.");
        var stored = BsonLayout.Decode(bson, row.Key).Message;
        if (!stored.Value.AsSpan().SequenceEqual(sent.Value)) return ("Mismatch", "The stored value differs from the one sent.");
        if (stored.Headers.Count != sent.Headers.Count) return ("Mismatch", $"{stored.Headers.Count} headers stored, {sent.Headers.Count} sent.");
        for (var i = 0; i < sent.Headers.Count; i++)
        {
            var (sk, sv) = sent.Headers[i];
            var (tk, tv) = stored.Headers[i];
            if (sk != tk || (sv is null) != (tv is null) || (sv is not null && !sv.AsSpan().SequenceEqual(tv)))
                return ("Mismatch", $"Header {i} ('{sk}') differs.");
        }
        if (stored.Timestamp != sent.Timestamp) return ("Mismatch", "The stored timestamp differs.");
        return ("Matched", $"Stored as {row.Key} ({row.Size} bytes).");
    }

    /// <summary>Deletes every row and every object of a test topic (clean_tests). Refuses topics that are not test topics.</summary>
    public async Task<TopicArchiveTestCleanup> CleanTestTopicAsync(string topic, CancellationToken ct)
    {
        if (!IsTestTopic(topic))
            throw new HpcException("NotATestTopic", HpcErrorKind.InvalidArgument,
                $"'{topic}' does not look like a test topic (its name has neither 'test' nor 'mock'); refusing to delete production data.", topic);
        var rows = _index.Query(new RecordQuery(Topic: topic));
        long objects = 0;
        foreach (var r in rows)
            if (await _store.DeleteAsync(r.Key, ct).ConfigureAwait(false)) objects++;
        var unindexed = new List<string>();
        await foreach (var (key, _) in _store.ListAsync(topic + "/", ct).ConfigureAwait(false)) unindexed.Add(key);
        foreach (var key in unindexed)
            if (await _store.DeleteAsync(key, ct).ConfigureAwait(false)) objects++;
        var deleted = _index.DeleteRows(rows.Select(r => r.Id).ToList());
        return new TopicArchiveTestCleanup(topic, deleted, objects);
    }

    public static bool IsTestTopic(string topic) =>
        topic.Contains("test", StringComparison.OrdinalIgnoreCase) || topic.Contains("mock", StringComparison.OrdinalIgnoreCase);
}
