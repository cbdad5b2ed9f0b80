using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Looks archived messages up in the index by uuid, topic and time range (houseutils inspect/uuids).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "TopicArchiveRecord", DefaultParameterSetName = "Query")]
[OutputType(typeof(TopicArchiveRecord))]
public sealed class GetTopicArchiveRecordCommand : TopicArchiveCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "Uuid", ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Uuid { get; set; } = Array.Empty<string>();

    [Parameter(ParameterSetName = "Query", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Topic { get; set; }

    /// <summary>Kafka timestamp at or after this time (UTC when unspecified).</summary>
    [Parameter(ParameterSetName = "Query")]
    public DateTime? From { get; set; }

    /// <summary>Kafka timestamp before this time.</summary>
    [Parameter(ParameterSetName = "Query")]
    public DateTime? To { get; set; }

    [Parameter(ParameterSetName = "Query")]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; }

    /// <summary>Read each object and add Format, Value, MessageKey and Headers.</summary>
    [Parameter]
    public SwitchParameter IncludePayload { get; set; }

    private ArchiveConnection? _conn;
    private readonly List<string> _uuids = new();
    private readonly List<RecordQuery> _queries = new();

    protected override void BeginProcessing() => _conn = BuildConnection();

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "Uuid") _uuids.AddRange(Uuid);
        else _queries.Add(new RecordQuery(null, Topic, ToMs(From), ToMs(To), First > 0 ? First : null));
    }

    private static long? ToMs(DateTime? t)
    {
        if (t is null) return null;
        var u = t.Value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t.Value, DateTimeKind.Utc) : t.Value.ToUniversalTime();
        return new DateTimeOffset(u).ToUnixTimeMilliseconds();
    }

    protected override void EndProcessing()
    {
        if (_conn is null) return;
        var conn = _conn;
        var uuids = _uuids.ToArray();
        var queries = _queries.ToList();
        var payload = IncludePayload.IsPresent;
        RunWork((sink, ct) => WithArchive(conn, async (store, index) =>
        {
            var rows = new List<IndexRow>();
            if (uuids.Length > 0)
            {
                rows.AddRange(index.Query(new RecordQuery(Uuids: uuids)));
                foreach (var missing in uuids.Select(u => u.ToLowerInvariant()).Except(rows.Select(r => r.Uuid)))
                    sink.Error(new HpcException("RecordNotFound", HpcErrorKind.ObjectNotFound, $"No archived message has uuid '{missing}'.", missing));
            }
            foreach (var q in queries) rows.AddRange(index.Query(q));
            var ops = new ArchiveOperations(store, index);
            foreach (var row in rows)
            {
                ct.ThrowIfCancellationRequested();
                if (!payload) { sink.Output(row.ToRecord()); continue; }
                try { sink.Output(await ops.WithPayloadAsync(row, ct).ConfigureAwait(false)); }
                catch (HpcException ex) { sink.Error(ex); }
            }
        }));
    }
}
