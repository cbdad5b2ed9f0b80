using System.Security;

namespace HpcCampaign.Engine.HotDirectory;

/// <summary>
/// Boot-time service for a hot directory: a systemd user unit on Linux (hpcc-hotdirectory-NAME.service, restarted
/// on failure, stopped through Stop-HotDirectory), a scheduled task at logon/boot on Windows. systemctl/schtasks are
/// run only for the default unit folder, so a custom folder (tests, packaging) only gets the file.
/// </summary>
public static class ServiceRegistration
{
    public static string UnitName(string name) => $"hpcc-hotdirectory-{name}.service";
    public static string TaskName(string name) => $@"\HpcCampaign\HotDirectory-{name}";

    public static string DefaultUnitDirectory =>
        OperatingSystem.IsWindows()
            ? Path.Combine(Config.ConfigPaths.StateDirectory, "tasks")
            : Common.ServiceManager.SystemdUserDirectory;

    public static string UnitPath(string name, string unitDirectory) =>
        Path.Combine(unitDirectory, OperatingSystem.IsWindows() ? $"HotDirectory-{name}.xml" : UnitName(name));

    /// <summary>The systemd unit text. <paramref name="hostCommand"/> runs a PowerShell command line, e.g. "/usr/bin/dotnet /opt/hpcc/hpcc.dll".</summary>
    public static string SystemdUnit(HotDirectorySettings s, string configPath, string hostCommand)
    {
        string Exec(string script) => $"{hostCommand} -Command \"{Common.ServiceManager.SystemdEscapePercent(script).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";
        return $"""
            # Written by Register-HotDirectory (HpcCampaign). Remove with Unregister-HotDirectory -Name {s.Name}.
            [Unit]
            Description=HpcCampaign hot directory {s.Name} ({s.WatchDirectory} -> {s.RemoteHost}:{s.RemoteDirectory})
            Wants=network-online.target
            After=network-online.target

            [Service]
            Type=simple
            ExecStart={Exec("Start-HotDirectory -ConfigPath " + Common.ServiceManager.PsQuote(configPath))}
            ExecStop={Exec("Stop-HotDirectory -ConfigPath " + Common.ServiceManager.PsQuote(configPath))}
            Restart=always
            RestartSec=10
            TimeoutStopSec=90

            [Install]
            WantedBy=default.target

            """;
    }

    /// <summary>Task Scheduler XML: start at logon and at boot, restart on failure, no time limit.</summary>
    public static string ScheduledTaskXml(HotDirectorySettings s, string configPath, string hostCommand)
    {
        var (exe, args) = SplitCommand(hostCommand);
        var arguments = $"{args} -Command \"Start-HotDirectory -ConfigPath {Common.ServiceManager.PsQuote(configPath)}\"".Trim();
        return $"""
            <?xml version="1.0" encoding="UTF-16"?>
            <Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
              <RegistrationInfo><Description>HpcCampaign hot directory {SecurityElement.Escape(s.Name)}</Description></RegistrationInfo>
              <Triggers>
                <LogonTrigger><Enabled>true</Enabled></LogonTrigger>
                <BootTrigger><Enabled>true</Enabled></BootTrigger>
              </Triggers>
              <Settings>
                <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
                <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
                <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
                <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
                <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>
              </Settings>
              <Actions Context="Author">
                <Exec><Command>{SecurityElement.Escape(exe)}</Command><Arguments>{SecurityElement.Escape(arguments)}</Arguments></Exec>
              </Actions>
            </Task>

            """;
    }

    private static (string Exe, string Args) SplitCommand(string command)
    {
        command = command.Trim();
        if (command.StartsWith('"'))
        {
            var end = command.IndexOf('"', 1);
            if (end > 0) return (command[1..end], command[(end + 1)..].Trim());
        }
        var space = command.IndexOf(' ');
        return space < 0 ? (command, "") : (command[..space], command[(space + 1)..]);
    }

    public static string Text(HotDirectorySettings s, string configPath, string hostCommand) =>
        OperatingSystem.IsWindows() ? ScheduledTaskXml(s, configPath, hostCommand) : SystemdUnit(s, configPath, hostCommand);

    public static string Kind => OperatingSystem.IsWindows() ? "scheduled-task" : "systemd-user";

    public static string Note(string name, bool managed) => OperatingSystem.IsWindows()
        ? managed ? $"Registered task {TaskName(name)}." : $"Register it with: schtasks /Create /TN \"{TaskName(name)}\" /XML <file> /F"
        : (managed
            ? $"Enabled and started {UnitName(name)}."
            : $"Enable it with: systemctl --user daemon-reload && systemctl --user enable --now {UnitName(name)}.")
          + " To keep it running after logout and start it at boot: loginctl enable-linger $USER.";

    /// <summary>Writes the unit (0644) and, for the default folder, enables it. Returns the note for the user.</summary>
    public static string Install(string name, string text, string unitDirectory, bool manage)
    {
        var path = UnitPath(name, unitDirectory);
        Common.AtomicFile.WriteAllText(path, text);
        if (manage)
        {
            if (OperatingSystem.IsWindows()) Run("schtasks", new[] { "/Create", "/TN", TaskName(name), "/XML", path, "/F" });
            else
            {
                Run("systemctl", new[] { "--user", "daemon-reload" });
                Run("systemctl", new[] { "--user", "enable", "--now", UnitName(name) });
            }
        }
        return Note(name, manage);
    }

    /// <summary>Disables (default folder only) and deletes the unit. False when there was none.</summary>
    public static bool Uninstall(string name, string unitDirectory, bool manage)
    {
        var path = UnitPath(name, unitDirectory);
        var existed = File.Exists(path);
        if (manage)
        {
            if (OperatingSystem.IsWindows()) Run("schtasks", new[] { "/Delete", "/TN", TaskName(name), "/F" }, ignoreFailure: !existed);
            else Run("systemctl", new[] { "--user", "disable", "--now", UnitName(name) }, ignoreFailure: !existed);
        }
        if (existed) File.Delete(path);
        if (manage && !OperatingSystem.IsWindows()) Run("systemctl", new[] { "--user", "daemon-reload" }, ignoreFailure: true);
        return existed;
    }

    private static void Run(string exe, string[] args, bool ignoreFailure = false) =>
        Common.ServiceManager.Run(exe, args, "ServiceManagerFailed", ignoreFailure);
}
