using System.Buffers.Binary;
using NewLlm.Tests;

namespace NewLlm.Training.Plots.Tests;

public class CurriculumPlotterTests
{
    [Fact]
    public void ThePerplexityCurveAcrossLevelsIsAPngOfTheGivenSizeWrittenWhole()
    {
        CurriculumResult result = new(CurriculumOutcome.Completed, [Row(1, "dolly", 17, [180, 60, 30]), Row(2, "hh-rlhf", 21, [40, 25])], 2, 0, "curriculum.json");
        byte[] png = CurriculumPlotter.Render(result, width: 900, height: 400);
        Assert.Equal((900, 400), PngSize(png));
        Assert.NotEqual(png, CurriculumPlotter.Render(result with { Levels = result.Levels.Take(1).ToList() }, width: 900, height: 400));
        Assert.Equal((1200, 500), PngSize(CurriculumPlotter.Render(result with { Levels = [Row(1, "dolly", 17, [])] }))); // a level never validated: empty axes

        using var temp = new TempDirectory();
        string path = temp.Combine("sub", "curriculum_ppl.png");
        CurriculumPlotter.Write(result, path);
        Assert.Equal((1200, 500), PngSize(File.ReadAllBytes(path)));
        Assert.Single(Directory.GetFiles(temp.Combine("sub")));
    }

    private static CurriculumLevelResult Row(int level, string name, double cleared, double[] ppl) =>
        new(level, name, name, 1, 256, ppl.Length == 0 ? null : ppl.Min(), 0.3, cleared, false, 10, null, ppl.Length, TrainingOutcome.Completed, 0.05, ppl);

    private static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }
}
