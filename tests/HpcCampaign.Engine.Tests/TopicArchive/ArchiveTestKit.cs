using Confluent.Kafka;
using HpcCampaign.Engine.TopicArchive;
using Npgsql;

namespace HpcCampaign.Tests.TopicArchive;

/// <summary>Fresh, isolated backends per test: a folder + SQLite file, or an S3 bucket + a new PostgreSQL database.</summary>
internal static class ArchiveTestKit
{
    public static string NewName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static ArchiveConnection Connection(string backend, string dir) => backend switch
    {
        "sqlite" => new ArchiveConnection { StorePath = Path.Combine(dir, "store"), IndexPath = Path.Combine(dir, "index.sqlite") },
        "postgres" => new ArchiveConnection { Bucket = NewName("ta"), S3Endpoint = TestEnv.S3Url, S3AccessKey = "test", S3SecretKey = "test", PostgresConnectionString = NewDatabase() },
        _ => throw new ArgumentException(backend),
    };

    public static string NewDatabase()
    {
        var name = "ta_" + Guid.NewGuid().ToString("N")[..12];
        using (var c = new NpgsqlConnection(TestEnv.PostgresConnectionString))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE {name}";
            cmd.ExecuteNonQuery();
        }
        return new NpgsqlConnectionStringBuilder(TestEnv.PostgresConnectionString) { Database = name }.ConnectionString;
    }

    public static KafkaSettings Kafka => new(TestEnv.KafkaBootstrap, null);

    /// <summary>Produces messages (synchronously, acknowledged) and returns them as the broker stored them.</summary>
    public static List<TopicMessage> Produce(string topic, IEnumerable<(byte[]? Key, byte[] Value, List<KeyValuePair<string, byte[]?>> Headers, int? Partition)> messages)
    {
        using var p = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = TestEnv.KafkaBootstrap, EnableIdempotence = true, MessageMaxBytes = 2_000_000 }).Build();
        // all in flight at once (the idempotent producer keeps per-partition order), then wait for every report
        var pending = new List<(Task<DeliveryResult<byte[], byte[]>> Report, byte[]? Key, byte[] Value, List<KeyValuePair<string, byte[]?>> Headers, long Ts)>();
        foreach (var (key, value, headers, partition) in messages)
        {
            var hs = new Headers();
            foreach (var (k, v) in headers) hs.Add(k, v);
            var tp = new TopicPartition(topic, partition is { } n ? new Partition(n) : Partition.Any);
            // the delivery report's timestamp is not the stored one on every broker: set it explicitly and keep that
            var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            pending.Add((p.ProduceAsync(tp, new Message<byte[], byte[]> { Key = key!, Value = value, Headers = hs, Timestamp = new Timestamp(ts, TimestampType.CreateTime) }), key, value, headers, ts));
        }
        Task.WhenAll(pending.Select(x => x.Report)).GetAwaiter().GetResult();
        var list = pending.Select(x => new TopicMessage(topic, x.Report.Result.Partition.Value, x.Report.Result.Offset.Value, x.Ts, x.Key, x.Headers, x.Value)).ToList();
        return list;
    }

    public static List<KeyValuePair<string, byte[]?>> WithId(params (string, byte[]?)[] extra)
    {
        var h = new List<KeyValuePair<string, byte[]?>> { new("_id", Guid.NewGuid().ToByteArray(bigEndian: true)) };
        h.AddRange(extra.Select(e => new KeyValuePair<string, byte[]?>(e.Item1, e.Item2)));
        return h;
    }

    /// <summary>Reads a topic from the beginning to its end (all partitions) with a throw-away group.</summary>
    public static List<ConsumeResult<byte[], byte[]>> ReadAll(string topic, int expected)
    {
        using var c = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig
        {
            BootstrapServers = TestEnv.KafkaBootstrap, GroupId = NewName("reader"), AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
        }).Build();
        c.Subscribe(topic);
        var list = new List<ConsumeResult<byte[], byte[]>>();
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (list.Count < expected && DateTime.UtcNow < deadline)
        {
            var r = c.Consume(200);
            if (r is { IsPartitionEOF: false }) list.Add(r);
        }
        c.Close();
        return list;
    }

    public static async Task<TopicArchiveRunSummary> Archive(ArchiveConnection conn, string[] topics, string group, IHpcSink? sink = null, IArchiveStore? store = null, int batch = 500)
    {
        using var s = store ?? conn.OpenStore();
        using var index = conn.OpenIndex();
        var archiver = new Archiver(new ArchiverOptions
        {
            Kafka = Kafka, Topics = topics, GroupId = group, UntilEndOfStream = true, BatchSize = batch,
            InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200), StartTimeout = TimeSpan.FromSeconds(40),
        }, s, index, sink ?? NullSink.Instance);
        return await archiver.RunAsync(CancellationToken.None);
    }
}
