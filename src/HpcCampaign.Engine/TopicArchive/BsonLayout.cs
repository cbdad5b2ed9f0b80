using MongoDB.Bson;
using MongoDB.Bson.IO;
using MongoDB.Bson.Serialization;

namespace HpcCampaign.Engine.TopicArchive;

/// <summary>Which document shape the stored objects have (spec §3).</summary>
public enum ArchiveLayout
{
    /// <summary>housekeeping (2023): message = {format, content}, metadata = {timestamp, headers, topic}.</summary>
    Housekeeping,
    /// <summary>archive-core: message = raw binary, metadata = {timestamp, headers, key, topic}.</summary>
    ArchiveCore,
}

/// <summary>
/// Encodes one message as the BSON object the original archiver wrote (py-bson rules: dict order kept, Python int as
/// int32 when it fits and int64 otherwise, bytes as binary subtype 0, None as null, tuples as arrays) and decodes it back.
/// Two documented extensions, present only when needed so ordinary Hopskotch messages stay byte-identical:
/// metadata.key (binary) in the housekeeping layout when the Kafka record has a key, and annotations.con_undecodable = true.
/// </summary>
public static class BsonLayout
{
    public static byte[] Encode(TopicMessage m, MessageAnnotations a, ArchiveLayout layout)
    {
        var headers = new BsonArray(m.Headers.Count);
        foreach (var (name, value) in m.Headers)
            headers.Add(new BsonArray(2) { new BsonString(name), value is null ? BsonNull.Value : new BsonBinaryData(value) });

        var metadata = new BsonDocument
        {
            { "timestamp", PyInt(m.Timestamp) },
            { "headers", headers },
        };
        if (layout == ArchiveLayout.ArchiveCore)
            metadata.Add("key", m.Key is null ? BsonNull.Value : new BsonBinaryData(m.Key));
        metadata.Add("topic", m.Topic);
        if (layout == ArchiveLayout.Housekeeping && m.Key is not null)
            metadata.Add("key", new BsonBinaryData(m.Key));

        var annotations = new BsonDocument
        {
            { "con_text_uuid", a.Uuid },
            { "con_is_client_uuid", a.IsClientUuid },
            { "con_message_crc32", PyInt(a.MessageCrc32) },
            { "duplicate", false },
        };
        if (a.Undecodable) annotations.Add("con_undecodable", true);

        BsonValue message = layout == ArchiveLayout.Housekeeping
            ? new BsonDocument { { "format", a.Format }, { "content", new BsonBinaryData(m.Value) } }
            : new BsonBinaryData(m.Value);

        var doc = new BsonDocument
        {
            { "message", message },
            { "metadata", metadata },
            { "annotations", annotations },
        };
        using var stream = new MemoryStream(m.Value.Length + 256);
        using (var writer = new BsonBinaryWriter(stream, new BsonBinaryWriterSettings { MaxDocumentSize = int.MaxValue }))
            BsonSerializer.Serialize(writer, doc);
        return stream.ToArray();
    }

    private static BsonValue PyInt(long v) => v is >= int.MinValue and <= int.MaxValue ? new BsonInt32((int)v) : new BsonInt64(v);

    /// <summary>Reads a stored object back (either layout). InvalidArchiveObject when it is not one.</summary>
    public static StoredMessage Decode(byte[] bson, string key)
    {
        try
        {
            BsonDocument doc;
            using (var stream = new MemoryStream(bson, writable: false))
            using (var reader = new BsonBinaryReader(stream, new BsonBinaryReaderSettings { MaxDocumentSize = int.MaxValue }))
                doc = BsonSerializer.Deserialize<BsonDocument>(reader);
            var metadata = doc["metadata"].AsBsonDocument;
            var annotations = doc["annotations"].AsBsonDocument;
            var messageValue = doc["message"];
            byte[] value;
            string? format = null;
            if (messageValue.IsBsonDocument)
            {
                value = messageValue["content"].AsByteArray;
                format = messageValue.AsBsonDocument.GetValue("format", BsonNull.Value) is BsonString s ? s.Value : null;
            }
            else value = messageValue.AsByteArray;
            var headers = new List<KeyValuePair<string, byte[]?>>();
            foreach (var h in metadata["headers"].AsBsonArray)
            {
                var pair = h.AsBsonArray;
                headers.Add(new(pair[0].AsString, pair[1].IsBsonNull ? null : pair[1].AsByteArray));
            }
            var keyValue = metadata.GetValue("key", BsonNull.Value);
            var m = new TopicMessage(metadata["topic"].AsString, -1, -1, metadata["timestamp"].ToInt64(),
                keyValue.IsBsonNull ? null : keyValue.AsByteArray, headers, value);
            return new StoredMessage(m, annotations["con_text_uuid"].AsString, annotations["con_is_client_uuid"].AsBoolean,
                (uint)annotations["con_message_crc32"].ToInt64(), format,
                annotations.GetValue("con_undecodable", false).ToBoolean());
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or KeyNotFoundException or EndOfStreamException or BsonException or ArgumentException)
        {
            throw new HpcException("InvalidArchiveObject", HpcErrorKind.InvalidData, $"'{key}' is not an archived message: {ex.Message}", key, ex);
        }
    }
}

/// <summary>A decoded stored object.</summary>
public sealed record StoredMessage(TopicMessage Message, string Uuid, bool IsClientUuid, uint MessageCrc32, string? Format, bool Undecodable);
