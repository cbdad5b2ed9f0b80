using System.Management.Automation;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Removes the boot-time service of a hot directory (systemd user unit or scheduled task). The state folder is kept.</para>
/// </summary>
[Cmdlet(VerbsLifecycle.Unregister, "HotDirectory", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(HotDirectoryRegistration))]
public sealed class UnregisterHotDirectoryCommand : HpcCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string Name { get; set; } = "";

    [Parameter] [ValidateNotNullOrEmpty] public string? UnitDirectory { get; set; }
    [Parameter] public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var managed = UnitDirectory is null;
        var dir = UnitDirectory is null ? ServiceRegistration.DefaultUnitDirectory : ResolveOutputPath(UnitDirectory);
        if (dir is null) return;
        var path = ServiceRegistration.UnitPath(Name, dir);
        if (!File.Exists(path))
        {
            WriteHpcError(new HpcException("UnitNotFound", HpcErrorKind.ObjectNotFound, $"Hot directory '{Name}' is not registered ('{path}' does not exist).", Name));
            return;
        }
        if (!ShouldProcess(path, "Disable and remove")) return;
        var text = File.ReadAllText(path);
        if (!TryEngine(() => ServiceRegistration.Uninstall(Name, dir, managed), path)) return;
        if (PassThru) WriteObject(new HotDirectoryRegistration(Name, ServiceRegistration.Kind, path, text, "removed"));
    }
}
