using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Lists the files a hot directory gave up on after its last retry (the dead-letter list).</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "HotDirectoryDeadLetter", DefaultParameterSetName = "Name")]
[OutputType(typeof(HotDirectoryDeadLetter))]
public sealed class GetHotDirectoryDeadLetterCommand : HpcCmdlet
{
    [Parameter(Position = 0, ParameterSetName = "Name", ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    [Parameter(Mandatory = true, ParameterSetName = "Config")]
    [ValidateNotNullOrEmpty]
    public string? ConfigPath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    protected override void ProcessRecord()
    {
        List<(string Name, string State)> targets = new();
        if (!TryEngine(() => targets = HotDirectoryTarget.Resolve(this, ResolveOutputPath, ConfigPath, Name, StateDirectory), ConfigPath ?? (object?)Name)) return;
        foreach (var (name, state) in targets)
        {
            List<HotDirectoryDeadLetter> rows = new();
            if (TryEngine(() => rows = HotDirectoryStatusReader.DeadLetters(name, state), name)) WriteObject(rows, true);
        }
    }
}
