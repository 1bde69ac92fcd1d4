using System.Runtime.CompilerServices;
using Passbox.Operator.Hosting;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// The operator puts its generated JSON metadata into KubernetesJson's shared options when it starts, which only works
/// before anything has serialized with them. In the operator process that is always so; here tests of other
/// collections use KubernetesJson before the first operator host starts. Registering when the assembly loads makes
/// every test run with the same options as the operator in production.
/// </summary>
internal static class OperatorJsonFirst
{
#pragma warning disable CA2255 // A test assembly, not a library: this must run before any test serializes.
    [ModuleInitializer]
    internal static void Register() => OperatorJson.Register();
#pragma warning restore CA2255
}
