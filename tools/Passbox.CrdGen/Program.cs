namespace Passbox.CrdGen;

internal static class Program
{
    public static int Main() => 0;
}
