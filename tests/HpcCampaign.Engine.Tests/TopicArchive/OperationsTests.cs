using System.Text;
using HpcCampaign.Engine.TopicArchive;
using static HpcCampaign.Tests.TopicArchive.ArchiveTestKit;

namespace HpcCampaign.Tests.TopicArchive;

public class OperationsTests
{
    private static async Task<(ArchiveConnection Conn, string Topic, List<TopicMessage> Produced)> Archived(string backend, int count, Func<int, (byte[]?, byte[], List<KeyValuePair<string, byte[]?>>, int?)>? make = null)
    {
        var conn = Connection(backend, TestEnv.NewTempDir());
        var topic = NewName("ta.ops");
        make ??= i => (null, Encoding.UTF8.GetBytes($"value {i}"), WithId(), null);
        var produced = Produce(topic, Enumerable.Range(0, count).Select(make));
        var run = await Archive(conn, [topic], "ops");
        Assert.Equal(count, run.Archived);
        return (conn, topic, produced);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task VerifyFindsPlantedFaultsInBothDirections(string backend)
    {
        var (conn, topic, _) = await Archived(backend, 12);
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var ops = new ArchiveOperations(store, index);
        var clean = new CollectingSink();
        var counts = await ops.VerifyAsync(topic, true, true, true, null, 4, clean, default);
        Assert.Empty(clean.Outputs);
        Assert.Equal((12L, 12L), counts);

        var rows = index.Query(new RecordQuery(Topic: topic));
        await store.DeleteAsync(rows[0].Key, default);                                          // object gone
        index.DeleteRows([rows[1].Id]);                                                         // row gone
        index.ExecuteForTest("UPDATE messages SET size = size + 7 WHERE id = @id", ("id", rows[2].Id)); // size corrupted

        var sink = new CollectingSink();
        await ops.VerifyAsync(topic, true, true, false, null, 4, sink, default);
        var issues = sink.Outputs.Cast<TopicArchiveIssue>().OrderBy(i => i.Kind).ToList();
        Assert.Equal(["MissingObject", "SizeMismatch", "UnindexedObject"], issues.Select(i => i.Kind));
        Assert.Equal(rows[0].Key, issues[0].Key);
        Assert.Equal(rows[2].Key, issues[1].Key);
        Assert.Equal(rows[1].Key, issues[2].Key);
        Assert.Equal(rows[1].Uuid, issues[2].Uuid);
        Assert.Equal(topic, issues[2].Topic);

        // one direction at a time
        var onlyStore = new CollectingSink();
        await ops.VerifyAsync(topic, false, true, false, null, 4, onlyStore, default);
        Assert.Equal("UnindexedObject", Assert.Single(onlyStore.Outputs.Cast<TopicArchiveIssue>()).Kind);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task RestoreReproducesValuesKeysHeadersAndOrder(string backend)
    {
        var (conn, topic, produced) = await Archived(backend, 24, i => (
            i % 3 == 0 ? null : Encoding.UTF8.GetBytes($"key-{i % 5}"),
            i == 7 ? [] : Encoding.UTF8.GetBytes($"payload {i} " + new string('x', i * 13)),
            WithId(("k", Encoding.UTF8.GetBytes($"h{i}")), ("k", null), ("empty", []), ("bin", [0, 255, (byte)i])),
            i % 4));
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var target = NewName("ta.restored");
        var result = await new ArchiveOperations(store, index).RestoreAsync(Kafka, topic, target, null, null, true, NullSink.Instance, default);
        Assert.Equal(24, result.Messages);

        var back = ReadAll(target, 24);
        Assert.Equal(24, back.Count);
        foreach (var part in Enumerable.Range(0, 4))
        {
            var original = produced.Where(p => p.Partition == part).OrderBy(p => p.Offset).ToList();
            var restored = back.Where(r => r.Partition.Value == part).OrderBy(r => r.Offset.Value).ToList();
            Assert.Equal(original.Count, restored.Count);
            for (var i = 0; i < original.Count; i++)
            {
                var o = original[i];
                var r = restored[i].Message;
                Assert.Equal(o.Value, r.Value);
                Assert.Equal(o.Key, r.Key);
                Assert.Equal(o.Timestamp, r.Timestamp.UnixTimestampMs);
                Assert.Equal(o.Headers.Select(h => (h.Key, h.Value is null ? "null" : Convert.ToHexString(h.Value))),
                    r.Headers.Select(h => (h.Key, h.GetValueBytes() is { } v ? Convert.ToHexString(v) : "null")));
            }
        }

        // a time range restores only that range
        var sorted = produced.OrderBy(p => p.Timestamp).ToList();
        var from = sorted[10].Timestamp;
        var target2 = NewName("ta.restored");
        var part2 = await new ArchiveOperations(store, index).RestoreAsync(Kafka, topic, target2, from, null, true, NullSink.Instance, default);
        Assert.Equal(produced.Count(p => p.Timestamp >= from), part2.Messages);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task DuplicateRowsAreFoundAndRemovedWithTheirObjects(string backend)
    {
        var (conn, topic, _) = await Archived(backend, 5);
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var ops = new ArchiveOperations(store, index);
        Assert.Empty(ops.FindDuplicates());

        // plant a copy of row 0 under another uuid and key (what the original's random server uuids produced)
        var r0 = index.Query(new RecordQuery(Topic: topic))[0];
        var copyUuid = Guid.NewGuid().ToString();
        var copyKey = ObjectKeys.For(topic, r0.Timestamp, copyUuid);
        await store.PutAsync(copyKey, (await store.GetAsync(r0.Key, default))!, default);
        index.InsertBatch([r0 with { Uuid = copyUuid, Key = copyKey, IsClientUuid = false }]);

        var dups = ops.FindDuplicates();
        var dup = Assert.Single(dups);
        Assert.Equal(copyUuid, dup.Uuid);
        Assert.True(await ops.RemoveDuplicateAsync(dup, default));
        Assert.Null(await store.SizeAsync(copyKey, default));
        Assert.NotNull(await store.SizeAsync(r0.Key, default));
        Assert.Equal(5, index.Query(new RecordQuery(Topic: topic)).Count);
        Assert.Empty(ops.FindDuplicates());
    }

    [Fact]
    public async Task StatusCountsPerTopicWithTotals()
    {
        var (conn, topic, produced) = await Archived("sqlite", 6);
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var status = new ArchiveOperations(store, index).Status("All", DateTimeOffset.UtcNow).ToList();
        Assert.Equal(2, status.Count);
        var t = status[0];
        Assert.Equal(topic, t.Topic);
        Assert.Equal(6, t.Messages);
        Assert.Equal(index.Query(new RecordQuery()).Sum(r => (long)r.Size), t.Bytes);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(produced.Min(p => p.Timestamp)).UtcDateTime, t.Earliest);
        Assert.True(status[1].IsTotal);
        Assert.Equal(6, status[1].Messages);
        var hour = new ArchiveOperations(store, index).Status("Hour", DateTimeOffset.UtcNow.AddDays(3)).ToList();
        Assert.Equal(0, Assert.Single(hour).Messages);
    }

    [Fact]
    public async Task KnownTestMessagesRoundTripAndAreCleanedUp()
    {
        var conn = Connection("sqlite", TestEnv.NewTempDir());
        var topic = NewName("ta.housekeeping-test");
        var sent = ArchiveOperations.SendTestMessages(Kafka, topic, default);
        Assert.Equal(10, sent.Count);
        var run = await Archive(conn, [topic], "tests");
        Assert.Equal(10, run.Archived);
        using var store = conn.OpenStore();
        using var index = conn.OpenIndex();
        var ops = new ArchiveOperations(store, index);
        foreach (var (name, message, uuid) in sent)
            Assert.Equal(("Matched", name), ((await ops.CompareAsync(message, uuid, default)).Status, name));
        Assert.Equal("Missing", (await ops.CompareAsync(sent[0].Message, Guid.NewGuid().ToString(), default)).Status);

        var ex = await Assert.ThrowsAsync<HpcException>(() => ops.CleanTestTopicAsync("gcn.notice", default));
        Assert.Equal("NotATestTopic", ex.ErrorId);
        var cleaned = await ops.CleanTestTopicAsync(topic, default);
        Assert.Equal((10L, 10L), (cleaned.RowsRemoved, cleaned.ObjectsRemoved));
        Assert.Equal(0, index.Count());
        Assert.Empty(Directory.GetFiles(store.Location, "*.bson", SearchOption.AllDirectories));
    }
}

public class HopAuthTests
{
    private static string Write(string text, UnixFileMode mode)
    {
        var path = Path.Combine(TestEnv.NewTempDir(), "auth.toml");
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, mode);
        return path;
    }

    private const string TwoCreds = """
        [[auth]]
        username = "user-abc"
        password = "pw-abc"
        protocol = "SASL_SSL"
        mechanism = "SCRAM_SHA_512"
        hostname = "kafka.scimma.org"
        ssl_ca_location = "/etc/ca.pem"

        [[auth]]
        username = "other"
        password = "pw-other"
        hostname = "dev.hop.scimma.org:9093"
        """;

    [Fact]
    public void SelectsByHostAndBuildsScramSha512OverTls()
    {
        var creds = HopAuth.Load(Write(TwoCreds, UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var c = HopAuth.Select(creds, "kafka://kafka.scimma.org/gcn.notice");
        Assert.Equal("user-abc", c.Username);
        var config = new KafkaSettings("kafka.scimma.org", c).ClientConfig();
        var d = config.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("kafka.scimma.org:9092", d["bootstrap.servers"]);
        Assert.Equal("sasl_ssl", d["security.protocol"].ToLowerInvariant());
        Assert.Equal("SCRAM-SHA-512", d["sasl.mechanism"]);
        Assert.Equal("user-abc", d["sasl.username"]);
        Assert.Equal("pw-abc", d["sasl.password"]);
        Assert.Equal("/etc/ca.pem", d["ssl.ca.location"]);
        Assert.Equal("other", HopAuth.Select(creds, "dev.hop.scimma.org:9093").Username);
        Assert.Equal("HopAuthNoMatch", Assert.Throws<HpcException>(() => HopAuth.Select(creds, "dev.hop.scimma.org")).ErrorId);
    }

    [Fact]
    public void OldStyleSingleTableAndHostlessCredentialsAndPlaintext()
    {
        var path = Write("[auth]\nusername = \"u\"\npassword = \"p\"\nprotocol = \"SASL_PLAINTEXT\"\n", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var c = HopAuth.Select(HopAuth.Load(path), "kafka://u@anything:9092");
        var d = new KafkaSettings("anything", c).ClientConfig().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("sasl_plaintext", d["security.protocol"].ToLowerInvariant());
        Assert.Equal("SCRAM-SHA-512", d["sasl.mechanism"]);
        Assert.Equal("HopAuthNoMatch", Assert.Throws<HpcException>(() => HopAuth.Select(HopAuth.Load(path), "kafka://someoneelse@anything")).ErrorId);
        var noAuth = new KafkaSettings("127.0.0.1:1234", null).ClientConfig().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.False(noAuth.ContainsKey("sasl.username"));
    }

    [Fact]
    public void AmbiguousGroupReadableAndBrokenFilesAreRefused()
    {
        var twoHostless = "[[auth]]\nusername = \"a\"\npassword = \"1\"\n[[auth]]\nusername = \"b\"\npassword = \"2\"\n";
        var ok = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.Equal("HopAuthAmbiguous", Assert.Throws<HpcException>(() => HopAuth.Select(HopAuth.Load(Write(twoHostless, ok)), "h")).ErrorId);
        Assert.Equal("b", HopAuth.Select(HopAuth.Load(Write(twoHostless, ok)), "kafka://b@h").Username);
        Assert.Equal("HopAuthInsecure", Assert.Throws<HpcException>(() => HopAuth.Load(Write(TwoCreds, ok | UnixFileMode.GroupRead))).ErrorId);
        Assert.Equal("HopAuthInsecure", Assert.Throws<HpcException>(() => HopAuth.Load(Write(TwoCreds, ok | UnixFileMode.OtherRead))).ErrorId);
        Assert.Equal("HopAuthInvalid", Assert.Throws<HpcException>(() => HopAuth.Load(Write("[[auth]\nbroken", ok))).ErrorId);
        Assert.Equal("HopAuthInvalid", Assert.Throws<HpcException>(() => HopAuth.Load(Write("[[auth]]\nusername = \"x\"\n", ok))).ErrorId);
        Assert.Equal("HopAuthNotFound", Assert.Throws<HpcException>(() => HopAuth.Load("/nonexistent/auth.toml")).ErrorId);
    }
}
