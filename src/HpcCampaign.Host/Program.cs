using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace HpcCampaign.Host;

/// <summary>
/// hpcc [-NoModule] [-Command] 'script' | -File script.ps1 [args...] | (no args: interactive prompt)
/// Output is formatted by Out-Default with the module's format views; errors and progress go to stderr.
/// Exit code: 0, 1 when the last command failed, or N from `exit N`.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string? command = null, file = null;
        var fileArgs = new List<string>();
        var importModule = true;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (file is not null) { fileArgs.Add(a); continue; }
            switch (a.ToLowerInvariant())
            {
                case "-c": case "-command": case "--command":
                    command = string.Join(' ', args.Skip(i + 1));
                    i = args.Length;
                    break;
                case "-f": case "-file": case "--file":
                    if (i + 1 >= args.Length) return Usage("-File needs a script path.");
                    file = args[++i];
                    break;
                case "-nomodule":
                    importModule = false;
                    break;
                case "-noprofile": case "-nologo": case "-noninteractive":
                    break;
                case "-h": case "-help": case "--help": case "-?":
                    Usage(null);
                    return 0;
                default:
                    if (a.StartsWith('-')) return Usage($"Unknown option '{a}'.");
                    command = string.Join(' ', args.Skip(i));
                    i = args.Length;
                    break;
            }
        }

        var host = new ConsoleHost();
        var iss = InitialSessionState.CreateDefault2();
        if (importModule)
        {
            var manifest = ModuleLocator.Find();
            if (manifest is null)
            {
                Console.Error.WriteLine("hpcc: cannot find HpcCampaign.psd1 with a built module/ next to it. Build first: dotnet build");
                return 1;
            }
            iss.ImportPSModule(manifest);
        }
        using var runspace = RunspaceFactory.CreateRunspace(host, iss);
        runspace.Open();
        foreach (var err in runspace.SessionStateProxy.PSVariable.GetValue("Error") as System.Collections.ArrayList ?? new())
            Console.Error.WriteLine(err);

        var runner = new ScriptRunner(runspace, host);
        if (file is not null) return runner.RunFile(file, fileArgs);
        if (command is not null) return runner.RunCommand(command == "-" ? Console.In.ReadToEnd() : command);
        return runner.Interactive();
    }

    private static int Usage(string? error)
    {
        if (error is not null) Console.Error.WriteLine("hpcc: " + error);
        Console.Error.WriteLine("usage: hpcc [-NoModule] -Command '<script>' | -File <script.ps1> [args...] | (no arguments: interactive)");
        return error is null ? 0 : 64;
    }
}

internal static class ModuleLocator
{
    /// <summary>$HPCCAMPAIGN_MODULE, then next to hpcc (published folder), then up from it (checkout: src/HpcCampaign.Host/bin/...).</summary>
    public static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("HPCCAMPAIGN_MODULE");
        if (!string.IsNullOrEmpty(env) && File.Exists(env)) return Path.GetFullPath(env);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var psd1 = Path.Combine(dir.FullName, "HpcCampaign.psd1");
            if (File.Exists(psd1) && File.Exists(Path.Combine(dir.FullName, "module", "HpcCampaign.dll"))) return psd1;
        }
        return null;
    }
}
