using System.Globalization;
using ScottPlot;

namespace NewLlm.Training;

/// <summary>
/// Draws a curriculum's validation perplexity across its levels (<see cref="CurriculumResult"/>) with ScottPlot: the
/// levels' epochs one after another on the x axis, a colour per level, a vertical line where a level starts and a dashed
/// line at each level's cleared threshold over its epochs.
/// </summary>
public static class CurriculumPlotter
{
    /// <summary>Renders the curve as PNG bytes.</summary>
    /// <param name="result">The curriculum's summary.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    public static byte[] Render(CurriculumResult result, int width = 1200, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(result);
        var plot = new Plot();
        int start = 0;
        for (int i = 0; i < result.Levels.Count; i++)
        {
            CurriculumLevelResult level = result.Levels[i];
            IReadOnlyList<double> ppl = level.ValidationPerplexities;
            Color color = plot.Add.Palette.GetColor(i);
            if (start > 0)
            {
                plot.Add.VerticalLine(start + 0.5, 1, Colors.Gray, LinePattern.Dotted);
            }

            if (ppl.Count > 0)
            {
                var scatter = plot.Add.Scatter(Enumerable.Range(start + 1, ppl.Count).Select(x => (double)x).ToArray(), ppl.ToArray(), color);
                scatter.LegendText = string.Create(CultureInfo.InvariantCulture, $"{level.Level} {level.Name} (cleared < {level.ClearedPerplexity:G4})");
                scatter.LineWidth = 2;
                var threshold = plot.Add.Line(start + 0.5, level.ClearedPerplexity, start + ppl.Count + 0.5, level.ClearedPerplexity);
                threshold.Color = color;
                threshold.LinePattern = LinePattern.Dashed;
            }

            start += ppl.Count;
        }

        plot.Title("Validation perplexity across the curriculum's levels");
        plot.XLabel("epoch (levels one after another)");
        plot.YLabel("validation perplexity");
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        using Image image = plot.GetImage(width, height);
        return image.GetImageBytes(ImageFormat.Png);
    }

    /// <summary>Writes the PNG to <paramref name="path"/> (replaced whole, never torn).</summary>
    /// <param name="result">The curriculum's summary.</param>
    /// <param name="path">The file, for example <c>curriculum/curriculum_ppl.png</c>.</param>
    public static void Write(CurriculumResult result, string path)
    {
        byte[] png = Render(result);
        AtomicFile.Write(path, stream => stream.Write(png));
    }
}
