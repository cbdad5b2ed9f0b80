namespace HpcCampaign;

/// <summary>One Kafka header of an archived message (duplicate keys and null values are kept as they came).</summary>
public sealed class TopicArchiveHeader
{
    public TopicArchiveHeader(string name, byte[]? value)
    {
        Name = name;
        Value = value;
    }

    public string Name { get; }
    public byte[]? Value { get; }
    public override string ToString() => Name;
}

/// <summary>One row of the archive index (and, with -IncludePayload, the stored message itself).</summary>
public sealed class TopicArchiveRecord
{
    public TopicArchiveRecord(long id, string topic, long timestamp, string uuid, int size, string key, string bucket,
        long crc32, bool isClientUuid, long messageCrc32, int partition, long offset, bool undecodable)
    {
        Id = id;
        Topic = topic;
        Timestamp = timestamp;
        Uuid = uuid;
        Size = size;
        Key = key;
        Bucket = bucket;
        Crc32 = crc32;
        IsClientUuid = isClientUuid;
        MessageCrc32 = messageCrc32;
        Partition = partition;
        Offset = offset;
        Undecodable = undecodable;
    }

    public long Id { get; }
    public string Topic { get; }
    /// <summary>Kafka timestamp, milliseconds since the Unix epoch.</summary>
    public long Timestamp { get; }
    public DateTime Time => DateTimeOffset.FromUnixTimeMilliseconds(Timestamp).UtcDateTime;
    public string Uuid { get; }
    /// <summary>Length of the stored BSON object in bytes.</summary>
    public int Size { get; }
    /// <summary>Object key in the store: {topic}/{YYYY}/{M}/{D}/{H}/{uuid}.bson.</summary>
    public string Key { get; }
    /// <summary>Bucket name, or the store folder for a local store.</summary>
    public string Bucket { get; }
    /// <summary>CRC-32 of the whole BSON object.</summary>
    public long Crc32 { get; }
    public bool IsClientUuid { get; }
    /// <summary>CRC-32 of the message value.</summary>
    public long MessageCrc32 { get; }
    public int Partition { get; }
    public long Offset { get; }
    /// <summary>True when the message could not be decoded as a Hopskotch message; it is archived raw.</summary>
    public bool Undecodable { get; }

    // Filled with -IncludePayload only.
    public string? Format { get; init; }
    public byte[]? Value { get; init; }
    public byte[]? MessageKey { get; init; }
    public TopicArchiveHeader[]? Headers { get; init; }

    public override string ToString() => Uuid;
}

/// <summary>What one Start-TopicArchive run did.</summary>
public sealed class TopicArchiveRunSummary
{
    public TopicArchiveRunSummary(string[] topics, long received, long archived, long duplicates, long skippedTest,
        long undecodable, long bytes, TimeSpan elapsed, string store, string index)
    {
        Topics = topics;
        Received = received;
        Archived = archived;
        Duplicates = duplicates;
        SkippedTest = skippedTest;
        Undecodable = undecodable;
        Bytes = bytes;
        Elapsed = elapsed;
        Store = store;
        Index = index;
    }

    public string[] Topics { get; }
    public long Received { get; }
    public long Archived { get; }
    public long Duplicates { get; }
    public long SkippedTest { get; }
    public long Undecodable { get; }
    /// <summary>Bytes of BSON written.</summary>
    public long Bytes { get; }
    public TimeSpan Elapsed { get; }
    public string Store { get; }
    public string Index { get; }
    public double MessagesPerSecond => Elapsed.TotalSeconds > 0 ? Received / Elapsed.TotalSeconds : 0;
    public override string ToString() => $"{Archived} archived, {Duplicates} duplicates";
}

/// <summary>One anomaly found by Test-TopicArchive.</summary>
public sealed class TopicArchiveIssue
{
    public TopicArchiveIssue(string kind, string? uuid, string? topic, string key, string message)
    {
        Kind = kind;
        Uuid = uuid;
        Topic = topic;
        Key = key;
        Message = message;
    }

    /// <summary>MissingObject, SizeMismatch, CrcMismatch (index → store) or UnindexedObject (store → index).</summary>
    public string Kind { get; }
    public string? Uuid { get; }
    public string? Topic { get; }
    public string Key { get; }
    public string Message { get; }
    public override string ToString() => $"{Kind}: {Key}";
}

/// <summary>Per-topic totals of the archive index (Get-TopicArchiveStatus); Topic is '*' on the totals row.</summary>
public sealed class TopicArchiveTopicStatus
{
    public TopicArchiveTopicStatus(string topic, string window, long messages, long bytes, string? sampleUuid,
        DateTime? earliest, DateTime? latest, bool isTotal)
    {
        Topic = topic;
        Window = window;
        Messages = messages;
        Bytes = bytes;
        SampleUuid = sampleUuid;
        Earliest = earliest;
        Latest = latest;
        IsTotal = isTotal;
    }

    public string Topic { get; }
    /// <summary>All, Day (last 24 h) or Hour (last hour), by Kafka timestamp.</summary>
    public string Window { get; }
    public long Messages { get; }
    public long Bytes { get; }
    public string? SampleUuid { get; }
    public DateTime? Earliest { get; }
    public DateTime? Latest { get; }
    public bool IsTotal { get; }
    public override string ToString() => Topic;
}

/// <summary>What Restore-TopicArchive published.</summary>
public sealed class TopicArchiveRestoreResult
{
    public TopicArchiveRestoreResult(string sourceTopic, string topic, long messages, long bytes, DateTime? first, DateTime? last)
    {
        SourceTopic = sourceTopic;
        Topic = topic;
        Messages = messages;
        Bytes = bytes;
        First = first;
        Last = last;
    }

    public string SourceTopic { get; }
    public string Topic { get; }
    public long Messages { get; }
    /// <summary>Bytes of message values published.</summary>
    public long Bytes { get; }
    public DateTime? First { get; }
    public DateTime? Last { get; }
    public override string ToString() => $"{SourceTopic} -> {Topic}";
}

/// <summary>One known test vector sent by Send-TopicArchiveTestMessage, and (with -Wait) how it was stored.</summary>
public sealed class TopicArchiveTestMessage
{
    public TopicArchiveTestMessage(string case_, string uuid, string topic, int size, string status, string message)
    {
        Case = case_;
        Uuid = uuid;
        Topic = topic;
        Size = size;
        Status = status;
        Message = message;
    }

    /// <summary>The _known_test_data header value.</summary>
    public string Case { get; }
    public string Uuid { get; }
    public string Topic { get; }
    /// <summary>Length of the message value.</summary>
    public int Size { get; }
    /// <summary>Sent, Matched, Mismatch or Missing.</summary>
    public string Status { get; }
    public string Message { get; }
    public override string ToString() => $"{Case}: {Status}";
}

/// <summary>What Remove-TopicArchiveTestMessage removed for one topic.</summary>
public sealed class TopicArchiveTestCleanup
{
    public TopicArchiveTestCleanup(string topic, long rowsRemoved, long objectsRemoved)
    {
        Topic = topic;
        RowsRemoved = rowsRemoved;
        ObjectsRemoved = objectsRemoved;
    }

    public string Topic { get; }
    public long RowsRemoved { get; }
    public long ObjectsRemoved { get; }
    public override string ToString() => Topic;
}
