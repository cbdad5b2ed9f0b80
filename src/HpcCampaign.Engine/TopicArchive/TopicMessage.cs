using System.Text;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>A Kafka record as the archive sees it: exact value, key and headers (order and duplicates kept).</summary>
public sealed class TopicMessage
{
    public TopicMessage(string topic, int partition, long offset, long timestamp, byte[]? key, IReadOnlyList<KeyValuePair<string, byte[]?>> headers, byte[] value)
    {
        Topic = topic;
        Partition = partition;
        Offset = offset;
        Timestamp = timestamp;
        Key = key;
        Headers = headers;
        Value = value;
    }

    public string Topic { get; }
    public int Partition { get; }
    public long Offset { get; }
    /// <summary>Milliseconds since the Unix epoch (create or log-append time).</summary>
    public long Timestamp { get; }
    public byte[]? Key { get; }
    public IReadOnlyList<KeyValuePair<string, byte[]?>> Headers { get; }
    public byte[] Value { get; }

    public bool HasHeader(string name) => Headers.Any(h => h.Key == name);
}

/// <summary>The per-message annotations of spec §2 (computed before the dedupe step).</summary>
public sealed class MessageAnnotations
{
    public required string Uuid { get; init; }
    public required bool IsClientUuid { get; init; }
    public required uint MessageCrc32 { get; init; }
    /// <summary>hop format label: last _format header, else the legacy JSON wrapper's "format", else "blob".</summary>
    public required string Format { get; init; }
    /// <summary>The message could not be decoded (bad _format header, or a json message that is not JSON); archived raw.</summary>
    public required bool Undecodable { get; init; }

    public static MessageAnnotations Compute(TopicMessage m)
    {
        var crc = Crc32.Compute(m.Value);
        string? uuid = null;
        foreach (var (name, value) in m.Headers)
        {
            if (name == "_id" && value is { Length: 16 })
            {
                uuid = FormatUuid(value);
                break;
            }
        }
        var (format, undecodable) = DecodeFormat(m);
        return new MessageAnnotations
        {
            Uuid = uuid ?? InventedUuid(m.Topic, m.Timestamp, crc),
            IsClientUuid = uuid is not null,
            MessageCrc32 = crc,
            Format = format,
            Undecodable = undecodable,
        };
    }

    /// <summary>The 16 bytes as a canonical 36-char lower-case UUID, in byte order (Python's uuid.UUID(bytes=...)).</summary>
    public static string FormatUuid(ReadOnlySpan<byte> b) => new Guid(b, bigEndian: true).ToString("D");

    public static byte[] UuidBytes(string uuid) => Guid.Parse(uuid).ToByteArray(bigEndian: true);

    /// <summary>
    /// For a message without a usable _id the original invents a random uuid4, so a redelivery gets a new uuid and a new
    /// object key (an orphan object when the process died between store and index). We derive it from the dedupe identity
    /// (topic, timestamp, message crc32) instead: a redelivery maps to the same uuid and the same key. It is marked as a
    /// version-8 (custom) UUID so it can never be mistaken for a client's uuid4.
    /// </summary>
    public static string InventedUuid(string topic, long timestamp, uint messageCrc32, int attempt = 0)
    {
        var input = Encoding.UTF8.GetBytes($"{topic}\n{timestamp}\n{messageCrc32}\n{attempt}");
        var hash = System.Security.Cryptography.SHA256.HashData(input);
        hash[6] = (byte)((hash[6] & 0x0F) | 0x80);
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80);
        return FormatUuid(hash.AsSpan(0, 16));
    }

    private static (string Format, bool Undecodable) DecodeFormat(TopicMessage m)
    {
        byte[]? formatHeader = null;
        var hasFormat = false;
        foreach (var (name, value) in m.Headers)
            if (name == "_format") { formatHeader = value; hasFormat = true; }
        if (hasFormat)
        {
            if (formatHeader is null) return ("blob", true);
            string label;
            try { label = new UTF8Encoding(false, true).GetString(formatHeader); }
            catch (DecoderFallbackException) { return ("blob", true); }
            if (label == "json" && !IsJson(m.Value)) return (label, true);
            return (label, false);
        }
        // pre-0.8 clients: the value is JSON {"format": ..., "content": ...}
        if (m.Value.Length > 0 && m.Value[0] == (byte)'{')
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(m.Value);
                if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                    && doc.RootElement.TryGetProperty("format", out var f) && f.ValueKind == System.Text.Json.JsonValueKind.String
                    && doc.RootElement.TryGetProperty("content", out _))
                    return (f.GetString()!, false);
            }
            catch (System.Text.Json.JsonException) { }
        }
        return ("blob", false);
    }

    private static bool IsJson(byte[] value)
    {
        try
        {
            using var _ = System.Text.Json.JsonDocument.Parse(value);
            return true;
        }
        catch (System.Text.Json.JsonException) { return false; }
        catch (ArgumentException) { return false; }
    }
}

/// <summary>zlib's CRC-32 (polynomial 0xEDB88320), as Python's zlib.crc32 returns it (unsigned).</summary>
public static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    private static uint[] BuildTable()
    {
        var t = new uint[256 * 4];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        for (var i = 0; i < 256; i++)
            for (var s = 1; s < 4; s++) t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[t[(s - 1) * 256 + i] & 0xFF];
        return t;
    }

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var c = 0xFFFFFFFFu;
        var i = 0;
        for (; i + 4 <= data.Length; i += 4)
        {
            c ^= (uint)(data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24);
            c = Table[768 + (c & 0xFF)] ^ Table[512 + ((c >> 8) & 0xFF)] ^ Table[256 + ((c >> 16) & 0xFF)] ^ Table[c >> 24];
        }
        for (; i < data.Length; i++) c = Table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
        return c ^ 0xFFFFFFFFu;
    }
}

/// <summary>Object keys: {topic}/{YYYY}/{M}/{D}/{H}/{uuid}.bson from the Kafka timestamp in UTC, not zero-padded.</summary>
public static class ObjectKeys
{
    public static string For(string topic, long timestampMs, string uuid)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(timestampMs).UtcDateTime;
        return $"{topic}/{t.Year}/{t.Month}/{t.Day}/{t.Hour}/{uuid}.bson";
    }
}
