// The original's curriculum on the library's runner: Dolly-15k, then HH-RLHF from the Dolly level's best checkpoint with
// its vocabulary, the context widened 256 -> 512 (Replicate: the wider model computes what the narrow one did), each level
// in its own folder, curriculum.json after each; run it again and it resumes (or reports the finished curriculum).
//   dotnet run -c Release --project samples/Curriculum -- data/dolly ../shared/hh-rlhf-mini curriculum 3
// Arguments: a Dolly folder laid out like its Hub repository (databricks-dolly-15k.jsonl), an HH-RLHF folder laid out
// like its own (<dir>/harmless-base/{train,test}.jsonl.gz), the output folder and the epochs of each level.
using System.Globalization;
using NewLlm.Training;

string dolly = args.Length > 0 ? args[0] : "data/dolly";
string hh = args.Length > 1 ? args[1] : "../shared/hh-rlhf-mini";
string output = args.Length > 2 ? args[2] : "curriculum";
int epochs = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 3;

// The original plan's first two levels (cleared below PPL 17 and 21), shortened, the second one wider.
CurriculumRecipe recipe = new(
[
    CurriculumRecipe.Original.Levels[0] with { Epochs = epochs },
    CurriculumRecipe.Original.Levels[1] with { Subset = "harmless", ContextSize = 512, Epochs = epochs },
]);
var options = new CurriculumOptions { OutputDirectory = output, BatchSize = 64, Seed = 1, OnNotCleared = NotClearedAction.Warn };
options.DataDirectories["dolly"] = dolly;
options.DataDirectories["hh-rlhf"] = hh;

var runner = new CurriculumRunner(recipe, options)
{
    Callbacks = _ => [new ConsoleReporter()],
    Progress = new ConsoleLines(),
};
CurriculumResult result = await runner.RunAsync();
Console.WriteLine($"{result.Outcome}: {result.Levels.Count} of {result.LevelCount} levels ({result.LevelsSkipped} finished by an earlier run).");
Console.Write(result.FormatTable());

/// <summary>The runner's sentences on the console, in order.</summary>
internal sealed class ConsoleLines : IProgress<CurriculumProgress>
{
    public void Report(CurriculumProgress value) => Console.WriteLine(value);
}
