using System.Management.Automation;
using HpcCampaign.Engine.Campaign;

namespace HpcCampaign.Commands.Campaign;

/// <summary>
/// <para type="synopsis">Creates an empty campaign archive (.aca, format 0.7).</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "Campaign", SupportsShouldProcess = true)]
[OutputType(typeof(CampaignInfo))]
public sealed class NewCampaignCommand : CampaignCmdletBase
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Replace an existing archive (everything in it is lost).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var p in Path)
        {
            var target = ResolveArchive(p, mustExist: false);
            if (target is null) continue;
            if (!ShouldProcess(target, File.Exists(target) ? "Replace campaign archive" : "Create campaign archive")) continue;
            RunWork((sink, _) =>
            {
                CampaignDb.CreateNew(target, Force);
                sink.Output(CampaignReader.Summary(target));
                return Task.CompletedTask;
            }, target);
        }
    }
}
