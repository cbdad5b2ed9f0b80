using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Records that a dataset has a copy in archival storage (archived-replica), optionally moving its embedded files.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignReplica", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignReplica))]
public sealed class AddCampaignReplicaCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Dataset name.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DatasetName")]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    /// <summary>Directory id of the archival storage (see Add-CampaignArchive output).</summary>
    [Parameter(Mandatory = true, Position = 2)]
    public long DirectoryId { get; set; }

    [Parameter]
    public long? ArchiveId { get; set; }

    /// <summary>Name of the copy in the storage (default: the source replica's name).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? NewPath { get; set; }

    /// <summary>Source replica when the dataset has several.</summary>
    [Parameter]
    public long? ReplicaId { get; set; }

    /// <summary>Move the embedded files to the copy and mark the source replica deleted.</summary>
    [Parameter]
    public SwitchParameter Move { get; set; }

    protected override void ProcessRecord()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        if (!ShouldProcess($"{archive}: {Name}", Move ? "Move replica into archival storage" : "Add archived replica")) return;
        RunWork((sink, _) =>
        {
            var result = CampaignEdit.AddArchivedReplica(archive, Name, DirectoryId, ArchiveId, NewPath, ReplicaId, Move);
            var replica = CampaignReader.Datasets(archive, new CampaignDatasetFilter { IncludeDeleted = true })
                .SelectMany(d => d.Replicas).First(r => r.ReplicaId == result.ReplicaId);
            sink.Output(replica);
            return Task.CompletedTask;
        }, archive);
    }
}
