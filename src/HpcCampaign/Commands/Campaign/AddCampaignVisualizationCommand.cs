using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Records a visualization sequence (variables and ordered image or scalar-field items) from a JSON manifest.</para>
/// </summary>
[Cmdlet(VerbsCommon.Add, "CampaignVisualization", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignVisualization))]
public sealed class AddCampaignVisualizationCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0)]
    [Alias("ArchivePath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The manifest (JSON: name, vis_type, variables, items, ...).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string[] Manifest { get; set; } = Array.Empty<string>();

    /// <summary>Replace a sequence of the same name.</summary>
    [Parameter]
    public SwitchParameter Replace { get; set; }

    protected override void ProcessRecord()
    {
        var archive = ResolveArchive(Path, mustExist: true);
        if (archive is null) return;
        foreach (var manifest in ResolveExistingPaths(Manifest, literal: false))
        {
            if (!ShouldProcess(archive, $"Add visualization sequence from '{manifest}'")) continue;
            TryEngine(() => WriteObject(VisualizationSequence.Add(archive, manifest, File.ReadAllText(manifest), Replace)), manifest);
        }
    }
}
