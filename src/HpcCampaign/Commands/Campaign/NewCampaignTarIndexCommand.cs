using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Writes the TAR index (taridx CSV) of a TAR file, for Add-CampaignArchive -TarIndex.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "CampaignTarIndex", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignTarIndex))]
public sealed class NewCampaignTarIndexCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Index file to write (default: the TAR path + .idx).</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        var found = ResolveExistingPaths(new[] { Path }, literal: false);
        foreach (var tar in found)
        {
            var dest = Destination is null ? tar + ".idx" : ResolveOutputPath(Destination);
            if (dest is null) continue;
            if (!ShouldProcess(dest, $"Write TAR index of '{tar}'")) continue;
            TryEngine(() => WriteObject(new CampaignTarIndex(dest, tar, HpcCampaign.Engine.Campaign.TarIndex.Write(tar, dest, Force))), tar);
        }
    }
}
