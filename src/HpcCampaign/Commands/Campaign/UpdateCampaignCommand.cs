using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Upgrades campaign archives of format 0.5 or 0.6 to 0.7 (all steps, or one with -Step).</para>
/// </summary>
[Cmdlet(VerbsData.Update, "Campaign", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(CampaignUpgrade))]
public sealed class UpdateCampaignCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName", "ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Make only one step (0.5→0.6 or 0.6→0.7), like the original `upgrade`.</summary>
    [Parameter]
    public SwitchParameter Step { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            var archive = ResolveArchive(p, mustExist: true);
            if (archive is null) continue;
            if (!ShouldProcess(archive, Step ? "Upgrade one format step" : "Upgrade to format " + CampaignSchema.CurrentVersion)) continue;
            RunWork((sink, _) =>
            {
                CampaignUpgrader.Upgrade(archive, !Step, sink);
                return Task.CompletedTask;
            }, archive);
        }
    }
}
