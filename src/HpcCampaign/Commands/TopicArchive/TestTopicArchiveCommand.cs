using System.Management.Automation;
using HpcCampaign.Engine.TopicArchive;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.TopicArchive;

/// <summary>
/// <para type="synopsis">Checks the archive both ways: every index row has its object (with the right size), every object has a row.</para>
/// Outputs one TopicArchiveIssue per anomaly (nothing when the archive is consistent).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "TopicArchive")]
[OutputType(typeof(TopicArchiveIssue), typeof(HpcJob))]
public sealed class TestTopicArchiveCommand : TopicArchiveCmdlet
{
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Topic { get; set; }

    [Parameter]
    [ValidateSet("Both", "IndexToStore", "StoreToIndex")]
    public string Direction { get; set; } = "Both";

    /// <summary>Read every object and compare its crc32 too (index → store).</summary>
    [Parameter]
    public SwitchParameter Deep { get; set; }

    /// <summary>Check only this many random rows (index → store).</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int Sample { get; set; }

    [Parameter]
    [ValidateRange(1, 64)]
    public int ThrottleLimit { get; set; } = 8;

    [Parameter]
    public SwitchParameter AsJob { get; set; }

    protected override void EndProcessing()
    {
        var conn = BuildConnection();
        if (conn is null) return;
        var topic = Topic;
        bool toStore = Direction != "StoreToIndex", toIndex = Direction != "IndexToStore", deep = Deep;
        int? sample = Sample > 0 ? Sample : null;
        var throttle = ThrottleLimit;
        RunOrStartJob(AsJob, DescribeStore(conn), (sink, ct) => WithArchive(conn, (store, index) =>
            new ArchiveOperations(store, index).VerifyAsync(topic, toStore, toIndex, deep, sample, throttle, sink, ct)));
    }
}
