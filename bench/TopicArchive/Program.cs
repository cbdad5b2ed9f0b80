using System.Diagnostics;
using Confluent.Kafka;
using HpcCampaign;
using HpcCampaign.Engine.TopicArchive;

// usage: TopicArchiveBench <bootstrap> <workdir> <messages> <topics> <valueBytes> [s3url pgconn]
// Phases: produce (setup) · kcat raw consume · bare loop (BSON + folder + SQLite, no Kafka) · full path (SQLite + folder)
//         · full path (S3 + PostgreSQL). Prints "name seconds messages" lines for bench/topicarchive.sh.
var bootstrap = args[0];
var work = args[1];
var total = int.Parse(args[2]);
var topicCount = int.Parse(args[3]);
var size = int.Parse(args[4]);
var s3 = args.Length > 5 ? args[5] : null;
var pg = args.Length > 6 ? args[6] : null;
var run = Guid.NewGuid().ToString("N")[..6];
var topics = Enumerable.Range(0, topicCount).Select(i => $"bench.{run}.t{i:00}").ToArray();

// ---- produce: hop-like messages (an _id and a _format header), 1 KiB values -------------------------------------
var rnd = new Random(42);
var messages = new List<TopicMessage>(total);
var sw = Stopwatch.StartNew();
using (var p = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 20, BatchSize = 1_000_000, EnableIdempotence = true }).Build())
{
    for (var i = 0; i < total; i++)
    {
        var value = new byte[size];
        rnd.NextBytes(value);
        var id = Guid.NewGuid().ToByteArray(bigEndian: true);
        var headers = new Headers { { "_id", id }, { "_format", "blob"u8.ToArray() } };
        var topic = topics[i % topicCount];
        var ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (true)
        {
            try { p.Produce(topic, new Message<byte[], byte[]> { Value = value, Headers = headers, Timestamp = new Timestamp(ts, TimestampType.CreateTime) }); break; }
            catch (ProduceException<byte[], byte[]> ex) when (ex.Error.Code == ErrorCode.Local_QueueFull) { p.Poll(TimeSpan.FromMilliseconds(50)); }
        }
        messages.Add(new TopicMessage(topic, i % 4, i, ts, null, [new("_id", id), new("_format", "blob"u8.ToArray())], value));
    }
    if (p.Flush(TimeSpan.FromMinutes(5)) > 0) throw new InvalidOperationException("produce did not finish");
}
Console.WriteLine($"produce {sw.Elapsed.TotalSeconds:0.000} {total}");
File.WriteAllLines(Path.Combine(work, "topics.txt"), topics);

// ---- baseline: kcat's raw consume of the same topics (balanced group, to the end of every partition) -------------
{
    var psi = new ProcessStartInfo("kcat") { RedirectStandardOutput = true, UseShellExecute = false };
    foreach (var a in new[] { "-b", bootstrap, "-G", "bench-kcat-" + run, "-X", "auto.offset.reset=earliest", "-e", "-q", "-f", "%o\\n" }.Concat(topics))
        psi.ArgumentList.Add(a);
    sw.Restart();
    using var k = Process.Start(psi)!;
    var lines = 0;
    while (k.StandardOutput.ReadLine() is not null) lines++;
    k.WaitForExit();
    Console.WriteLine($"kcat {sw.Elapsed.TotalSeconds:0.000} {lines}");
}

// ---- bare loop: the same BSON objects and index rows, no Kafka, no dedupe lookups ------------------------------------
{
    var dir = Path.Combine(work, "bare");
    using var store = new FolderStore(Path.Combine(dir, "store"));
    using var index = ArchiveIndex.OpenSqlite(Path.Combine(dir, "index.sqlite"));
    sw.Restart();
    foreach (var chunk in messages.Chunk(500))
    {
        var rows = new IndexRow[chunk.Length];
        await Parallel.ForEachAsync(Enumerable.Range(0, chunk.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            var m = chunk[i];
            var a = MessageAnnotations.Compute(m);
            var bson = BsonLayout.Encode(m, a, ArchiveLayout.Housekeeping);
            var key = ObjectKeys.For(m.Topic, m.Timestamp, a.Uuid);
            await store.PutAsync(key, bson, ct);
            rows[i] = new IndexRow(0, m.Topic, m.Timestamp, a.Uuid, bson.Length, key, store.Location, Crc32.Compute(bson), true, a.MessageCrc32, m.Partition, m.Offset, false);
        });
        await store.FlushAsync(default);
        index.InsertBatch(rows);
    }
    Console.WriteLine($"bare {sw.Elapsed.TotalSeconds:0.000} {index.Count()}");
}

async Task Full(string name, ArchiveConnection conn, long? max = null)
{
    using var store = conn.OpenStore();
    using var index = conn.OpenIndex();
    var archiver = new Archiver(new ArchiverOptions { Kafka = new KafkaSettings(bootstrap, null), Topics = topics, GroupId = "bench-" + name, UntilEndOfStream = true, MaxMessages = max },
        store, index, NullSink.Instance);
    var summary = await archiver.RunAsync(CancellationToken.None);
    Console.WriteLine($"{name} {summary.Elapsed.TotalSeconds:0.000} {summary.Archived}");
}

await Full("full-sqlite-folder", new ArchiveConnection { StorePath = Path.Combine(work, "full", "store"), IndexPath = Path.Combine(work, "full", "index.sqlite") });
if (s3 is not null && pg is not null)
    await Full("full-s3-postgres", new ArchiveConnection { Bucket = "bench-" + run, S3Endpoint = s3, S3AccessKey = "bench", S3SecretKey = "bench", PostgresConnectionString = pg }, Math.Min(total, 20_000));
