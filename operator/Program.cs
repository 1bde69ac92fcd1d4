namespace Passbox.Operator;

internal static class Program
{
    public static int Main() => 0;
}
