namespace Tandem.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.WriteLine("Tandem benchmarks: see docs/benchmarks.md.");
        return args.Length == 0 ? 0 : 2;
    }
}
