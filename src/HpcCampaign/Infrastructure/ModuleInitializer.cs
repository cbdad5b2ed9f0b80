using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace HpcCampaign.Infrastructure;

/// <summary>
/// Loads HpcCampaign.Engine and its third-party dependencies from deps/ into a private AssemblyLoadContext, so a
/// session that already loaded another YamlDotNet, AWSSDK or SSH.NET keeps working. Only the engine assembly
/// itself is answered from the default context's Resolving event; everything the engine needs is found by the
/// private context. HpcCampaign.Contracts (our public types) is shared from the default context.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => EngineLoader.Register();
    public void OnRemove(PSModuleInfo psModuleInfo) => EngineLoader.Unregister();
}

internal static class EngineLoader
{
    private static readonly object Gate = new();
    private static EngineLoadContext? _context;
    private static bool _registered;

    public static string ModuleDirectory => Path.GetDirectoryName(typeof(EngineLoader).Assembly.Location)!;
    public static string DepsDirectory => Path.Combine(ModuleDirectory, "deps");

    public static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            AssemblyLoadContext.Default.Resolving += OnResolving;
            _registered = true;
        }
    }

    public static void Unregister()
    {
        lock (Gate)
        {
            if (!_registered) return;
            AssemblyLoadContext.Default.Resolving -= OnResolving;
            _registered = false;
        }
    }

    private static Assembly? OnResolving(AssemblyLoadContext context, AssemblyName name)
    {
        if (name.Name == "HpcCampaign.Engine")
        {
            lock (Gate)
            {
                _context ??= new EngineLoadContext(Path.Combine(DepsDirectory, "HpcCampaign.Engine.dll"));
            }
            return _context.LoadFromAssemblyName(name);
        }
        if (name.Name == "HpcCampaign.Contracts")
        {
            var path = Path.Combine(ModuleDirectory, "HpcCampaign.Contracts.dll");
            return File.Exists(path) ? AssemblyLoadContext.Default.LoadFromAssemblyPath(path) : null;
        }
        return null;
    }
}

internal sealed class EngineLoadContext : AssemblyLoadContext
{
    private readonly AssemblyDependencyResolver _resolver;
    private readonly string _directory;

    public EngineLoadContext(string engineAssemblyPath) : base("HpcCampaign.Engine", isCollectible: false)
    {
        _resolver = new AssemblyDependencyResolver(engineAssemblyPath);
        _directory = Path.GetDirectoryName(engineAssemblyPath)!;
    }

    protected override Assembly? Load(AssemblyName name)
    {
        // Shared with PowerShell / the cmdlets: never loaded twice.
        if (name.Name is "HpcCampaign.Contracts" or "System.Management.Automation") return null;
        var path = _resolver.ResolveAssemblyToPath(name);
        if (path is null)
        {
            var candidate = Path.Combine(_directory, name.Name + ".dll");
            if (File.Exists(candidate)) path = candidate;
        }
        return path is null ? null : LoadFromAssemblyPath(path);
    }

    protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
    {
        var path = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
        return path is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(path);
    }
}
