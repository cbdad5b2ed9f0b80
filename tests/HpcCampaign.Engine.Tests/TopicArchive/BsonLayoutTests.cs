using System.Text;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Tests.TopicArchive;

/// <summary>
/// The stored object must be byte-identical to what the original (py-bson) wrote. Expected bytes are assembled here by
/// hand from the BSON spec, independently of MongoDB.Bson.
/// </summary>
public class BsonLayoutTests
{
    // ---- a hand-written BSON assembler (spec bsonspec.org 1.1) ------------------------------------------------
    private static byte[] I32(int v) => BitConverter.GetBytes(v);
    private static byte[] I64(long v) => BitConverter.GetBytes(v);
    private static byte[] CStr(string s) => [.. Encoding.UTF8.GetBytes(s), 0];
    private static byte[] Cat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
    private static byte[] Doc(params byte[][] elements)
    {
        var body = Cat(elements);
        return Cat(I32(body.Length + 5), body, [0]);
    }
    private static byte[] Str(string name, string v) { var b = Encoding.UTF8.GetBytes(v); return Cat([0x02], CStr(name), I32(b.Length + 1), b, [0]); }
    private static byte[] Bin(string name, byte[] v) => Cat([0x05], CStr(name), I32(v.Length), [0x00], v);
    private static byte[] Null(string name) => Cat([0x0A], CStr(name));
    private static byte[] Bool(string name, bool v) => Cat([0x08], CStr(name), [(byte)(v ? 1 : 0)]);
    private static byte[] Int32(string name, int v) => Cat([0x10], CStr(name), I32(v));
    private static byte[] Int64(string name, long v) => Cat([0x12], CStr(name), I64(v));
    private static byte[] SubDoc(string name, byte[] doc) => Cat([0x03], CStr(name), doc);
    private static byte[] Arr(string name, byte[] doc) => Cat([0x04], CStr(name), doc);

    private static readonly byte[] Id = Convert.FromHexString("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    private const string IdText = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

    private static TopicMessage Sample(byte[]? key = null) => new("gcn.notice", 2, 41, 1672902000123L, key,
        [new("_id", Id), new("_format", "json"u8.ToArray()), new("title", null), new("k", "v1"u8.ToArray()), new("k", "v2"u8.ToArray())],
        "{\"a\": 1}"u8.ToArray());

    private static byte[] Headers() => Doc(
        Arr("0", Doc(Str("0", "_id"), Bin("1", Id))),
        Arr("1", Doc(Str("0", "_format"), Bin("1", "json"u8.ToArray()))),
        Arr("2", Doc(Str("0", "title"), Null("1"))),
        Arr("3", Doc(Str("0", "k"), Bin("1", "v1"u8.ToArray()))),
        Arr("4", Doc(Str("0", "k"), Bin("1", "v2"u8.ToArray()))));

    [Fact]
    public void HousekeepingLayoutIsByteExact()
    {
        var m = Sample();
        var a = MessageAnnotations.Compute(m);
        Assert.Equal(IdText, a.Uuid);
        Assert.True(a.IsClientUuid);
        var crc = Crc32.Compute("{\"a\": 1}"u8);
        Assert.Equal(crc, a.MessageCrc32);
        Assert.True(crc > int.MaxValue); // this value exercises py-bson's int64 branch for crc32
        var expected = Doc(
            SubDoc("message", Doc(Str("format", "json"), Bin("content", "{\"a\": 1}"u8.ToArray()))),
            SubDoc("metadata", Doc(Int64("timestamp", 1672902000123L), Arr("headers", Headers()), Str("topic", "gcn.notice"))),
            SubDoc("annotations", Doc(Str("con_text_uuid", IdText), Bool("con_is_client_uuid", true), Int64("con_message_crc32", crc), Bool("duplicate", false))));
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(BsonLayout.Encode(m, a, ArchiveLayout.Housekeeping)));
    }

    [Fact]
    public void SmallIntegersAreInt32AsPyBsonWritesThem()
    {
        // value "abc" has crc32 0x352441C2 < 2^31: py-bson writes int32
        var m = new TopicMessage("t", 0, 0, 5, null, [], "abc"u8.ToArray());
        var a = MessageAnnotations.Compute(m);
        Assert.Equal(0x352441C2u, a.MessageCrc32);
        Assert.False(a.IsClientUuid);
        var expected = Doc(
            SubDoc("message", Doc(Str("format", "blob"), Bin("content", "abc"u8.ToArray()))),
            SubDoc("metadata", Doc(Int32("timestamp", 5), Arr("headers", Doc()), Str("topic", "t"))),
            SubDoc("annotations", Doc(Str("con_text_uuid", a.Uuid), Bool("con_is_client_uuid", false), Int32("con_message_crc32", 0x352441C2), Bool("duplicate", false))));
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(BsonLayout.Encode(m, a, ArchiveLayout.Housekeeping)));
    }

    [Fact]
    public void ArchiveCoreLayoutIsByteExactWithKey()
    {
        var m = Sample("k1"u8.ToArray());
        var a = MessageAnnotations.Compute(m);
        var expected = Doc(
            Bin("message", "{\"a\": 1}"u8.ToArray()),
            SubDoc("metadata", Doc(Int64("timestamp", 1672902000123L), Arr("headers", Headers()), Bin("key", "k1"u8.ToArray()), Str("topic", "gcn.notice"))),
            SubDoc("annotations", Doc(Str("con_text_uuid", IdText), Bool("con_is_client_uuid", true), Int64("con_message_crc32", a.MessageCrc32), Bool("duplicate", false))));
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(BsonLayout.Encode(m, a, ArchiveLayout.ArchiveCore)));
        var nokey = Sample();
        var expectedNull = Doc(
            Bin("message", "{\"a\": 1}"u8.ToArray()),
            SubDoc("metadata", Doc(Int64("timestamp", 1672902000123L), Arr("headers", Headers()), Null("key"), Str("topic", "gcn.notice"))),
            SubDoc("annotations", Doc(Str("con_text_uuid", IdText), Bool("con_is_client_uuid", true), Int64("con_message_crc32", a.MessageCrc32), Bool("duplicate", false))));
        Assert.Equal(Convert.ToHexString(expectedNull), Convert.ToHexString(BsonLayout.Encode(nokey, a, ArchiveLayout.ArchiveCore)));
    }

    [Fact]
    public void HousekeepingLayoutKeepsAKafkaKeyAsAnExtraMetadataFieldAndDecodesBack()
    {
        var m = Sample("the-key"u8.ToArray());
        var a = MessageAnnotations.Compute(m);
        var bytes = BsonLayout.Encode(m, a, ArchiveLayout.Housekeeping);
        var expectedMetadata = SubDoc("metadata", Doc(Int64("timestamp", 1672902000123L), Arr("headers", Headers()), Str("topic", "gcn.notice"), Bin("key", "the-key"u8.ToArray())));
        Assert.Contains(Convert.ToHexString(expectedMetadata), Convert.ToHexString(bytes));
        var back = BsonLayout.Decode(bytes, "k");
        Assert.Equal("the-key"u8.ToArray(), back.Message.Key);
        Assert.Equal(m.Value, back.Message.Value);
        Assert.Equal(m.Timestamp, back.Message.Timestamp);
        Assert.Equal(m.Headers.Select(h => (h.Key, h.Value is null ? "null" : Convert.ToHexString(h.Value))),
            back.Message.Headers.Select(h => (h.Key, h.Value is null ? "null" : Convert.ToHexString(h.Value))));
        Assert.Equal("json", back.Format);
        Assert.Equal(IdText, back.Uuid);
    }

    [Fact]
    public void UndecodableMessagesAreFlaggedNotDropped()
    {
        var badFormat = new TopicMessage("t", 0, 0, 1672902000123L, null, [new("_format", [0xff, 0xfe])], [1, 2, 3]);
        var a = MessageAnnotations.Compute(badFormat);
        Assert.True(a.Undecodable);
        var bytes = BsonLayout.Encode(badFormat, a, ArchiveLayout.Housekeeping);
        Assert.EndsWith(Convert.ToHexString(Cat(Bool("duplicate", false), Bool("con_undecodable", true), [0], [0])), Convert.ToHexString(bytes));
        var back = BsonLayout.Decode(bytes, "k");
        Assert.True(back.Undecodable);
        Assert.Equal(new byte[] { 1, 2, 3 }, back.Message.Value);

        var notJson = new TopicMessage("t", 0, 0, 1, null, [new("_format", "json"u8.ToArray())], "{not json"u8.ToArray());
        Assert.True(MessageAnnotations.Compute(notJson).Undecodable);
        var legacy = new TopicMessage("t", 0, 0, 1, null, [], "{\"format\": \"voevent\", \"content\": \"x\"}"u8.ToArray());
        Assert.Equal("voevent", MessageAnnotations.Compute(legacy).Format);
        Assert.False(MessageAnnotations.Compute(legacy).Undecodable);
    }

    [Fact]
    public void DecodingGarbageIsAClearError()
    {
        var ex = Assert.Throws<HpcException>(() => BsonLayout.Decode([1, 2, 3, 4, 5, 6], "x/1.bson"));
        Assert.Equal("InvalidArchiveObject", ex.ErrorId);
    }
}

public class AnnotationTests
{
    [Fact]
    public void Crc32IsZlibs()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
        Assert.Equal(0u, Crc32.Compute([]));
        var big = new byte[100_003];
        new Random(5).NextBytes(big);
        uint slow = 0xFFFFFFFF;
        foreach (var b in big)
        {
            slow ^= b;
            for (var k = 0; k < 8; k++) slow = (slow & 1) != 0 ? 0xEDB88320u ^ (slow >> 1) : slow >> 1;
        }
        Assert.Equal(slow ^ 0xFFFFFFFF, Crc32.Compute(big));
    }

    [Fact]
    public void UuidIsTheFirstIdHeaderThatHasSixteenBytes()
    {
        var good = Convert.FromHexString("00112233445566778899aabbccddeeff");
        var m = new TopicMessage("t", 0, 0, 1, null, [new("_id", null), new("_id", "text"u8.ToArray()), new("_id", []), new("_id", good), new("_id", new byte[16])], []);
        var a = MessageAnnotations.Compute(m);
        Assert.Equal("00112233-4455-6677-8899-aabbccddeeff", a.Uuid);
        Assert.True(a.IsClientUuid);
    }

    [Fact]
    public void InventedUuidIsStableForTheSameContentAndDiffersOtherwise()
    {
        var m1 = new TopicMessage("t", 0, 0, 1000, null, [], "x"u8.ToArray());
        var m2 = new TopicMessage("t", 3, 99, 1000, null, [], "x"u8.ToArray());
        var m3 = new TopicMessage("t", 0, 0, 1001, null, [], "x"u8.ToArray());
        var a1 = MessageAnnotations.Compute(m1);
        Assert.False(a1.IsClientUuid);
        Assert.Equal(a1.Uuid, MessageAnnotations.Compute(m2).Uuid);
        Assert.NotEqual(a1.Uuid, MessageAnnotations.Compute(m3).Uuid);
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", a1.Uuid);
    }

    [Theory]
    [InlineData(1672902000123L, "gcn.notice/2023/1/5/7/u.bson")]
    [InlineData(0L, "gcn.notice/1970/1/1/0/u.bson")]
    [InlineData(1703980799999L, "gcn.notice/2023/12/30/23/u.bson")]
    public void KeySchemeIsUtcAndNotZeroPadded(long ms, string key) => Assert.Equal(key, ObjectKeys.For("gcn.notice", ms, "u"));
}
