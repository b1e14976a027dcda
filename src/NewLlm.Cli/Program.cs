// newllm: New-LLM from the command line.
//   newllm train --data-dir ../shared/hh-rlhf-mini --subset harmless --num_layers 1 --epochs 6 --batch_size 64
//   newllm train --resume checkpoints/new_llm_hh_rlhf_layers1_final.pt --epochs 10
//   newllm evaluate --checkpoint checkpoints/best_new_llm_hh_rlhf_layers1.pt --data-dir ../shared/hh-rlhf-mini --subset harmless
//   newllm chat --checkpoint checkpoints/best_new_llm_hh_rlhf_layers1.pt
//   newllm curriculum --levels dolly,hh-rlhf --data-dir dolly=data/dolly --data-dir hh-rlhf=../shared/hh-rlhf-mini
using System.CommandLine.Invocation;
using NewLlm.Cli;

var root = new RootCommand("New-LLM from the command line: train a model (or a curriculum of them), measure a checkpoint, chat with it.")
{
    new TrainCommand(),
    new CurriculumCommand(),
    new EvaluateCommand(),
    new ChatCommand(),
    new CompareCommand(),
};
ParseResult parsed = root.Parse(args);
if (parsed.Action is ParseErrorAction error)
{
    // A mistake in a command's options: System.CommandLine's errors and "did you mean"; newllm alone (no command): the help too.
    error.ShowHelp = parsed.CommandResult.Command is RootCommand;
}

return await parsed.InvokeAsync();
