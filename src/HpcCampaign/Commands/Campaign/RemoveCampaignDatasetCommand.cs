using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Soft-deletes datasets (by uuid or name) or replicas of a campaign archive, in one transaction.</para>
/// </summary>
[Cmdlet(VerbsCommon.Remove, "CampaignDataset", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = "Uuid")]
[OutputType(typeof(void))]
public sealed class RemoveCampaignDatasetCommand : CampaignCmdletBase
{
    private readonly Dictionary<string, (List<string> Names, List<string> Uuids, List<long> Replicas)> _work = new(StringComparer.Ordinal);

    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    [Parameter(Mandatory = true, ParameterSetName = "Name", Position = 1)]
    [ValidateNotNullOrEmpty]
    public string[] Name { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = "Uuid", ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Uuid { get; set; } = Array.Empty<string>();

    [Parameter(Mandatory = true, ParameterSetName = "Replica", ValueFromPipelineByPropertyName = true)]
    public long[] ReplicaId { get; set; } = Array.Empty<long>();

    protected override void ProcessRecord()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        if (!_work.TryGetValue(archive, out var w)) _work[archive] = w = (new(), new(), new());
        switch (ParameterSetName)
        {
            case "Name":
                foreach (var n in Name) if (ShouldProcess($"{archive}: dataset '{n}'", "Remove (soft delete)")) w.Names.Add(n);
                break;
            case "Uuid":
                foreach (var u in Uuid) if (ShouldProcess($"{archive}: dataset {u}", "Remove (soft delete)")) w.Uuids.Add(u);
                break;
            default:
                foreach (var r in ReplicaId) if (ShouldProcess($"{archive}: replica {r}", "Remove (soft delete)")) w.Replicas.Add(r);
                break;
        }
    }

    protected override void EndProcessing()
    {
        foreach (var (archive, w) in _work)
        {
            if (w.Names.Count + w.Uuids.Count + w.Replicas.Count == 0) continue;
            RunWork((sink, _) =>
            {
                var n = CampaignEdit.Remove(archive, w.Names, w.Uuids, w.Replicas);
                sink.Verbose($"{n} item(s) marked deleted in '{archive}'.");
                return Task.CompletedTask;
            }, archive);
        }
    }
}
