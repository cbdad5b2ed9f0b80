using System.Text;
using HpcCampaign.Engine.TopicArchive;
using static HpcCampaign.Tests.TopicArchive.ArchiveTestKit;

namespace HpcCampaign.Tests.TopicArchive;

/// <summary>The archiver against the real Kafka-protocol broker, with SQLite + folder and PostgreSQL + S3.</summary>
public class ArchiverTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task ArchivesEveryMessageOnceSkipsTestMessagesAndFlagsUndecodable(string backend)
    {
        var conn = Connection(backend, TestEnv.NewTempDir());
        var topic = NewName("ta.e2e");
        var input = new List<(byte[]?, byte[], List<KeyValuePair<string, byte[]?>>, int?)>();
        for (var i = 0; i < 40; i++) input.Add((null, Encoding.UTF8.GetBytes($"message {i}"), WithId(("_format", "blob"u8.ToArray())), null));
        input.Add((null, "no id 1"u8.ToArray(), [], null));
        input.Add((null, "no id 2"u8.ToArray(), [], null));
        input.Add((null, "a test message"u8.ToArray(), WithId(("_test", "true"u8.ToArray())), null));
        input.Add((null, [0xde, 0xad], WithId(("_format", [0xff])), null));
        var produced = Produce(topic, input);

        var first = await Archive(conn, [topic], "g1");
        Assert.Equal(44, first.Received);
        Assert.Equal(43, first.Archived);
        Assert.Equal(1, first.SkippedTest);
        Assert.Equal(1, first.Undecodable);
        Assert.Equal(0, first.Duplicates);

        using (var index = conn.OpenIndex())
        using (var store = conn.OpenStore())
        {
            var rows = index.Query(new RecordQuery(Topic: topic));
            Assert.Equal(43, rows.Count);
            Assert.Single(rows, r => r.Undecodable);
            Assert.Equal(2, rows.Count(r => !r.IsClientUuid));
            foreach (var p in produced.Where(p => !p.HasHeader("_test")))
            {
                var a = MessageAnnotations.Compute(p);
                var row = Assert.Single(rows, r => r.Uuid == a.Uuid);
                Assert.Equal(ObjectKeys.For(topic, p.Timestamp, a.Uuid), row.Key);
                Assert.Equal((p.Partition, p.Offset), (row.Partition, row.Offset));
                var bson = await store.GetAsync(row.Key, default);
                Assert.NotNull(bson);
                Assert.Equal(BsonLayout.Encode(p, a, ArchiveLayout.Housekeeping), bson);
                Assert.Equal(row.Size, bson!.Length);
                Assert.Equal(row.Crc32, (long)Crc32.Compute(bson));
            }
        }

        // same group: offsets were committed, nothing is read again
        var again = await Archive(conn, [topic], "g1");
        Assert.Equal(0, again.Received);

        // a new group re-reads everything: every message is recognised as a duplicate (client and server uuid rules)
        var reread = await Archive(conn, [topic], "g2");
        Assert.Equal(44, reread.Received);
        Assert.Equal(0, reread.Archived);
        Assert.Equal(43, reread.Duplicates);
        using (var index = conn.OpenIndex()) Assert.Equal(43, index.Query(new RecordQuery(Topic: topic)).Count);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task DedupeRulesForClientAndServerUuids(string backend)
    {
        var conn = Connection(backend, TestEnv.NewTempDir());
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var sink = new CollectingSink();
        var id = Guid.NewGuid().ToByteArray(true);
        TopicMessage M(long ts, string value, byte[]? uuid, int offset) =>
            new("t", 0, offset, ts, null, uuid is null ? [] : [new("_id", uuid)], Encoding.UTF8.GetBytes(value));

        var b1 = await Archiver.ArchiveBatchAsync([M(1000, "client", id, 0), M(2000, "server", null, 1), M(2000, "server", null, 2)],
            store, index, ArchiveLayout.Housekeeping, true, 4, sink, default);
        Assert.Equal((2, 1), (b1.Archived, b1.Duplicates));   // the in-batch server-uuid copy is a duplicate

        // client uuid: resent later (new timestamp, same content) -> duplicate; the uuid alone decides
        // server uuid: same topic+timestamp+crc -> duplicate; same content at another timestamp -> a new message
        var b2 = await Archiver.ArchiveBatchAsync([M(9999, "client", id, 3), M(2000, "server", null, 4), M(2001, "server", null, 5)],
            store, index, ArchiveLayout.Housekeeping, true, 4, sink, default);
        Assert.Equal((1, 2), (b2.Archived, b2.Duplicates));

        // a client reusing a uuid for other content: kept, under a server uuid, with a warning
        var b3 = await Archiver.ArchiveBatchAsync([M(3000, "other content", id, 6)], store, index, ArchiveLayout.Housekeeping, true, 4, sink, default);
        Assert.Equal((1, 0), (b3.Archived, b3.Duplicates));
        Assert.Contains(sink.Warnings, w => w.Contains("different content"));
        var rows = index.Query(new RecordQuery(Topic: "t"));
        Assert.Equal(4, rows.Count);
        Assert.Single(rows, r => r.IsClientUuid);
        Assert.Equal(3, rows.Count(r => !r.IsClientUuid));
        Assert.Equal(rows.Count, rows.Select(r => r.Uuid).Distinct().Count());
        var reused = Assert.Single(rows, r => r.Timestamp == 3000);
        Assert.Equal(MessageAnnotations.InventedUuid("t", 3000, Crc32.Compute("other content"u8)), reused.Uuid);

        // the same batch again (a redelivery after a crash) changes nothing
        var b4 = await Archiver.ArchiveBatchAsync([M(1000, "client", id, 0), M(2000, "server", null, 1), M(3000, "other content", id, 6)],
            store, index, ArchiveLayout.Housekeeping, true, 4, sink, default);
        Assert.Equal((0, 3), (b4.Archived, b4.Duplicates));
        Assert.Equal(4, index.Query(new RecordQuery()).Count);
    }

    /// <summary>A store that fails its first N writes, like an S3 outage.</summary>
    private sealed class FlakyStore(IArchiveStore inner, int failures) : IArchiveStore
    {
        private int _left = failures;
        public int Failed;
        public string Location => inner.Location;
        public Task PutAsync(string key, byte[] data, CancellationToken ct)
        {
            if (Interlocked.Decrement(ref _left) >= 0)
            {
                Interlocked.Increment(ref Failed);
                throw new HpcException("StoreUnavailable", HpcErrorKind.ResourceUnavailable, "simulated outage", key);
            }
            return inner.PutAsync(key, data, ct);
        }
        public Task<byte[]?> GetAsync(string key, CancellationToken ct) => inner.GetAsync(key, ct);
        public Task<long?> SizeAsync(string key, CancellationToken ct) => inner.SizeAsync(key, ct);
        public IAsyncEnumerable<(string Key, long Size)> ListAsync(string prefix, CancellationToken ct) => inner.ListAsync(prefix, ct);
        public Task<bool> DeleteAsync(string key, CancellationToken ct) => inner.DeleteAsync(key, ct);
        public Task FlushAsync(CancellationToken ct) => inner.FlushAsync(ct);
        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public async Task StoreOutagePausesAndRetriesWithoutLosingOrMovingOffsets()
    {
        var conn = Connection("sqlite", TestEnv.NewTempDir());
        var topic = NewName("ta.outage");
        Produce(topic, Enumerable.Range(0, 25).Select(i => ((byte[]?)null, Encoding.UTF8.GetBytes($"m{i}"), WithId(), (int?)null)));

        // a store that never comes back: the run is stopped; nothing was indexed, no offset moved
        using (var index = conn.OpenIndex())
        {
            var dead = new FlakyStore(conn.OpenStore(), int.MaxValue);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(8));
            var archiver = new Archiver(new ArchiverOptions { Kafka = Kafka, Topics = [topic], GroupId = "outage", InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(100) },
                dead, index, NullSink.Instance);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => archiver.RunAsync(cts.Token));
            Assert.True(dead.Failed > 1);
            Assert.Equal(0, index.Count());
        }

        // the same group with a store that fails 3 more times: everything arrives exactly once
        var sink = new CollectingSink();
        var flaky = new FlakyStore(conn.OpenStore(), 3);
        var run = await Archive(conn, [topic], "outage", sink, flaky);
        Assert.Equal(25, run.Received);
        Assert.Equal(25, run.Archived);
        Assert.Contains(sink.Warnings, w => w.Contains("pausing"));
        using var idx = conn.OpenIndex();
        Assert.Equal(25, idx.Count());
    }

    [Fact]
    public async Task DatabaseOutagePausesAndRetriesUntilItIsBack()
    {
        var conn = Connection("postgres", TestEnv.NewTempDir("dbdown"));
        var database = new Npgsql.NpgsqlConnectionStringBuilder(conn.PostgresConnectionString).Database!;
        var topic = NewName("ta.dbdown");
        Produce(topic, Enumerable.Range(0, 30).Select(i => ((byte[]?)null, Encoding.UTF8.GetBytes($"m{i}"), WithId(), (int?)null)));
        void Admin(string sql)
        {
            using var c = new Npgsql.NpgsqlConnection(TestEnv.PostgresConnectionString);
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }

        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();   // schema created; now the database goes away
        Admin($"ALTER DATABASE {database} ALLOW_CONNECTIONS false");
        Admin($"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'");
        var sink = new CollectingSink();
        var archiver = new Archiver(new ArchiverOptions
        {
            Kafka = Kafka, Topics = [topic], GroupId = "dbdown", UntilEndOfStream = true,
            InitialBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromMilliseconds(500), StartTimeout = TimeSpan.FromSeconds(40),
        }, store, index, sink);
        var running = archiver.RunAsync(CancellationToken.None);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!sink.Warnings.Any(w => w.Contains("pausing")) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.Contains(sink.Warnings, w => w.Contains("pausing"));
        Admin($"ALTER DATABASE {database} ALLOW_CONNECTIONS true");
        var summary = await running;
        Assert.Equal(30, summary.Archived);
        Assert.Equal(30, index.Count());
    }
}
