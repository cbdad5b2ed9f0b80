using System.Management.Automation;
using System.Reflection;
using HpcCampaign.Engine.HotDirectory;
using HpcCampaign.Infrastructure;

namespace HpcCampaign.Commands.HotDirectory;

/// <summary>
/// <para type="synopsis">Makes a hot directory start at boot and restart after crashes: a systemd user unit on Linux, a scheduled task on Windows.</para>
/// -WhatIf shows the unit text and writes nothing. systemctl (or schtasks) is run only for the default unit folder.
/// </summary>
[Cmdlet(VerbsLifecycle.Register, "HotDirectory", SupportsShouldProcess = true)]
[OutputType(typeof(HotDirectoryRegistration))]
public sealed class RegisterHotDirectoryCommand : HpcCmdlet
{
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string ConfigPath { get; set; } = "";

    /// <summary>Where the unit is written; default ~/.config/systemd/user (Linux). A custom folder only gets the file.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? UnitDirectory { get; set; }

    /// <summary>Command line that runs PowerShell with the module, e.g. "/usr/bin/dotnet /opt/hpcc/hpcc.dll" or "/usr/bin/pwsh -NoProfile". Default: the current host.</summary>
    [Parameter] [ValidateNotNullOrEmpty] public string? HostCommand { get; set; }

    [Parameter] public SwitchParameter Force { get; set; }

    protected override void EndProcessing()
    {
        var configs = ResolveExistingPaths(new[] { ConfigPath }, literal: true);
        if (configs.Count == 0) return;
        var config = configs[0];
        HotDirectorySettings? settings = null;
        if (!TryEngine(() => { settings = HotDirectorySettings.Load(config); settings.Validate(); }, config) || settings is null) return;
        var managed = UnitDirectory is null;
        var dir = UnitDirectory is null ? ServiceRegistration.DefaultUnitDirectory : ResolveOutputPath(UnitDirectory);
        if (dir is null) return;
        var path = ServiceRegistration.UnitPath(settings.Name, dir);
        var text = ServiceRegistration.Text(settings, config, HostCommand ?? DefaultHostCommand());
        if (File.Exists(path) && !Force)
        {
            WriteHpcError(new HpcException("UnitExists", HpcErrorKind.ResourceExists, $"'{path}' already exists; use -Force to replace it.", path));
            return;
        }
        if (!ShouldProcess($"{path}:{Environment.NewLine}{text}", $"Write {path} with the text above", "Register hot directory")) return;
        string note = "";
        if (!TryEngine(() => note = ServiceRegistration.Install(settings.Name, text, dir, managed), path)) return;
        if (!OperatingSystem.IsWindows()) WriteWarning("Linger: without 'loginctl enable-linger $USER' the unit stops at logout and starts only at login.");
        WriteObject(new HotDirectoryRegistration(settings.Name, ServiceRegistration.Kind, path, text, note));
    }

    internal static string DefaultHostCommand()
    {
        static string Q(string p) => p.Contains(' ') ? $"\"{p}\"" : p;
        var process = Environment.ProcessPath ?? "";
        var exe = Path.GetFileNameWithoutExtension(process);
        if (exe.Equals("pwsh", StringComparison.OrdinalIgnoreCase)) return Q(process) + " -NoProfile";
        if (exe.Equals("hpcc", StringComparison.OrdinalIgnoreCase)) return Q(process);
        var entry = Assembly.GetEntryAssembly()?.Location ?? "";
        if (exe.Equals("dotnet", StringComparison.OrdinalIgnoreCase) && Path.GetFileNameWithoutExtension(entry).Equals("hpcc", StringComparison.OrdinalIgnoreCase))
            return $"{Q(process)} {Q(entry)}";
        return "hpcc";
    }
}
